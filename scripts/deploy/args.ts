// The command line of `npm run deploy`.
import { parseArgs } from 'node:util';
import { DeployError } from './errors.ts';

/** Where a vendor sends webhooks: `$execute` with Basic auth, or the open `/webhook/...` route. */
export type Route = 'execute' | 'webhook';
/** Medplum's bot runtimes: AWS Lambda on hosted Medplum, node:vm on most self-hosted servers. */
export type BotRuntime = 'awslambda' | 'vmcontext';

export const ROUTES: readonly Route[] = ['execute', 'webhook'];
export const RUNTIMES: readonly BotRuntime[] = ['awslambda', 'vmcontext'];

export interface DeployFlags {
  /** Bots named on the command line; empty means every bot in the config. */
  readonly botNames: readonly string[];
  readonly configPath: string;
  readonly dryRun: boolean;
  readonly runtime?: BotRuntime;
  readonly route?: Route;
  readonly setSecrets: boolean;
  readonly showSecrets: boolean;
  readonly force: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run deploy -- [options] [bot names...]

Deploys the bots of medplum.config.json (all of them, or those named) to the Medplum project of the
ClientApplication in MEDPLUM_CLIENT_ID / MEDPLUM_CLIENT_SECRET (environment or .env).

Options:
  --dry-run            print what would be created or updated; write nothing
  --runtime=<name>     awslambda or vmcontext (default: per bot "runtime" in the config, else
                       awslambda on api.medplum.com and vmcontext elsewhere)
  --route=<name>       execute (Basic auth, the default) or webhook (public /webhook/{id} route)
  --set-secrets        set the bots' project secrets from environment variables of the same name
  --show-secrets       print the webhook client's secret in the URLs instead of masking it
  --force              upload and $deploy the code even when it has not changed
  --config=<path>      another medplum.config.json (default: ./medplum.config.json)
  --help               this text`;

/** Parses argv (without node and the script path). */
export function parseFlags(argv: readonly string[]): DeployFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        runtime: { type: 'string' },
        route: { type: 'string' },
        'set-secrets': { type: 'boolean', default: false },
        'show-secrets': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        config: { type: 'string', default: 'medplum.config.json' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    const fix = 'run `npm run deploy -- --help` for the options.';
    throw new DeployError((err as Error).message, fix);
  }
  const { values, positionals } = parsed;
  return {
    botNames: positionals,
    configPath: values.config,
    dryRun: values['dry-run'],
    runtime: oneOf('--runtime', values.runtime, RUNTIMES),
    route: oneOf('--route', values.route, ROUTES),
    setSecrets: values['set-secrets'],
    showSecrets: values['show-secrets'],
    force: values.force,
    help: values.help,
  };
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) {
    return value as T | undefined;
  }
  throw new DeployError(`${flag}=${value} is not supported`, `use one of: ${allowed.join(', ')}.`);
}

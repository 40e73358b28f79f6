// `npm run deploy`: puts the bots of medplum.config.json into a Medplum project, idempotently.
// Everything local (flags, config, policy files, credentials) is checked before the first request;
// then each bot goes through the steps below, and a failed step stops that bot's later steps but
// not the other bots.
import { resolve } from 'node:path';
import type { DeployFlags } from './args.ts';
import { parseFlags, USAGE } from './args.ts';
import { buildBundles, staleBundles } from './build.ts';
import type { BotEntry, DeployConfig } from './config.ts';
import { readDeployConfig, selectBots } from './config.ts';
import type { BotState, DeployContext } from './context.ts';
import { printEndpoints } from './endpoints.ts';
import type { Env } from './env.ts';
import { defaultRuntime, loadEnv, readCredentials } from './env.ts';
import { describeFailure } from './errors.ts';
import { logIn, readProjectFeatures } from './medplum.ts';
import type { Log, StepResult } from './report.ts';
import { Report } from './report.ts';
import { ensureBotPolicy } from './steps/access-policy.ts';
import { ensureBot, ensureBotMembership } from './steps/bot.ts';
import { ensureWebhookClient, ensureWebhookClientPolicy } from './steps/client.ts';
import { deployCode } from './steps/code.ts';
import { checkFeatures } from './steps/features.ts';
import { ensureRoute } from './steps/route.ts';
import { ensureSecrets } from './steps/secrets.ts';

export interface DeployRun {
  /** Arguments after `node scripts/deploy.ts`. */
  readonly argv: readonly string[];
  /** Where a relative --config is resolved. */
  readonly cwd: string;
  readonly env: Env;
  readonly log: Log;
}

interface Step {
  readonly title: string;
  readonly run: (ctx: DeployContext, state: BotState) => Promise<StepResult>;
}

/** Each bot's steps, in order: each may use what the earlier ones found or made. */
const BOT_STEPS: readonly Step[] = [
  { title: 'AccessPolicy', run: ensureBotPolicy },
  { title: 'Bot', run: ensureBot },
  { title: 'Bot membership', run: ensureBotMembership },
  { title: 'source and $deploy', run: deployCode },
  { title: 'webhook AccessPolicy', run: ensureWebhookClientPolicy },
  { title: 'webhook client', run: ensureWebhookClient },
  { title: 'route', run: ensureRoute },
  { title: 'secrets', run: ensureSecrets },
];

/** Runs deploy and returns the process exit code: 0 when nothing failed. */
export async function runDeploy(run: DeployRun): Promise<number> {
  try {
    const flags = parseFlags(run.argv);
    if (flags.help) {
      run.log(USAGE);
      return 0;
    }
    return await deploy(run, flags);
  } catch (err) {
    printFailure(run.log, 'deploy stopped', err);
    return 1;
  }
}

async function deploy(run: DeployRun, flags: DeployFlags): Promise<number> {
  const { log } = run;
  const config = readDeployConfig(resolve(run.cwd, flags.configPath));
  const bots = selectBots(config, flags.botNames);
  const env = loadEnv(config.root, run.env);
  const credentials = readCredentials(env);
  const names = bots.map((bot) => bot.name).join(', ');
  const dryRun = flags.dryRun ? ' (dry run: nothing is written)' : '';
  log(`Deploying ${names} to ${credentials.baseUrl}${dryRun}`);

  const session = await logIn(credentials);
  log(`Logged in to project "${session.projectName}" (Project/${session.projectId}) as an admin`);
  const features = await readProjectFeatures(session);
  const unbuilt = await buildWhenStale(config, bots, flags, log);
  const ctx: DeployContext = {
    session,
    config,
    flags,
    env,
    log,
    defaultRuntime: defaultRuntime(credentials.baseUrl),
    features,
    unbuilt,
  };

  const report = new Report(flags.dryRun);
  const states: BotState[] = [];
  for (const entry of bots) {
    states.push(await deployBot(ctx, report, entry));
  }
  log('');
  log('project');
  const where = { subject: 'project', object: 'features', label: '1/1 features' };
  record(ctx, report, where, checkFeatures(features));
  printEndpoints(ctx, states, log);
  report.print(log);
  return report.failed ? 1 : 0;
}

/** Builds the stale bundles; in a dry run only names them (the code step then plans a deploy). */
async function buildWhenStale(
  config: DeployConfig,
  bots: BotEntry[],
  flags: DeployFlags,
  log: Log
): Promise<Set<string>> {
  const stale = staleBundles(config, bots);
  if (stale.length === 0) {
    return new Set();
  }
  const names = stale.map((bot) => bot.name);
  if (flags.dryRun) {
    log(`Would build ${names.join(', ')}: the bundle is missing or older than src/`);
    return new Set(names);
  }
  log(`Building ${names.join(', ')}: the bundle is missing or older than src/`);
  await buildBundles(config, stale, log);
  return new Set();
}

async function deployBot(ctx: DeployContext, report: Report, entry: BotEntry): Promise<BotState> {
  const state: BotState = {
    entry,
    runtime: ctx.flags.runtime ?? entry.runtime ?? ctx.defaultRuntime,
    route: ctx.flags.route ?? entry.route ?? 'execute',
    mustDeploy: false,
    botCreated: false,
  };
  ctx.log('');
  ctx.log(`${entry.name} (${entry.vendor})`);
  let failed = false;
  for (const [index, step] of BOT_STEPS.entries()) {
    const label = `${index + 1}/${BOT_STEPS.length} ${step.title}`;
    const where = { subject: entry.name, object: step.title, label };
    if (failed) {
      record(ctx, report, where, { outcome: 'skipped', detail: 'after the failure above' });
      continue;
    }
    try {
      record(ctx, report, where, await step.run(ctx, state));
    } catch (err) {
      failed = true;
      const [cause, ...fix] = describeFailure(err);
      record(ctx, report, where, { outcome: 'failed', detail: cause, notes: fix });
    }
  }
  return state;
}

/** Prints a step's result as it ends and keeps it for the summary. */
function record(
  ctx: DeployContext,
  report: Report,
  where: { subject: string; object: string; label: string },
  result: StepResult
): void {
  report.add({ subject: where.subject, object: where.object, ...result });
  const outcome = report.label(result.outcome).padEnd(12);
  ctx.log(`  ${where.label.padEnd(26)} ${outcome} ${result.detail}`.trimEnd());
  for (const note of result.notes ?? []) {
    ctx.log(`      ${note}`);
  }
}

function printFailure(log: Log, what: string, err: unknown): void {
  const [cause, ...rest] = describeFailure(err);
  log(`${what}: ${cause}`);
  for (const line of rest) {
    log(`  ${line}`);
  }
}

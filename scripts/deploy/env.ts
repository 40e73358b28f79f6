// Credentials and secret values come from the environment, or from a .env file beside
// medplum.config.json. A variable set in the environment wins over the same name in .env.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { BotRuntime } from './args.ts';
import { DeployError } from './errors.ts';

export const HOSTED_BASE_URL = 'https://api.medplum.com/';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Credentials {
  /** With a trailing slash, as MedplumClient and URL resolution want it. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The environment with the .env file of `root` (if any) underneath it. */
export function loadEnv(root: string, processEnv: Env): Env {
  const file = join(root, '.env');
  if (!existsSync(file)) {
    return processEnv;
  }
  const fromFile = parseEnv(readFileSync(file, 'utf8'));
  const env: Record<string, string | undefined> = { ...fromFile };
  for (const [name, value] of Object.entries(processEnv)) {
    if (value !== undefined && value !== '') {
      env[name] = value;
    }
  }
  return env;
}

/** The admin ClientApplication's credentials; throws before any request when one is missing. */
export function readCredentials(env: Env): Credentials {
  const missing = ['MEDPLUM_CLIENT_ID', 'MEDPLUM_CLIENT_SECRET'].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new DeployError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
      'copy .env.example to .env and fill in the id and secret of a project-admin ' +
        'ClientApplication (README: "Deploy to your Medplum project").'
    );
  }
  return {
    baseUrl: readBaseUrl(env.MEDPLUM_BASE_URL || HOSTED_BASE_URL),
    clientId: env.MEDPLUM_CLIENT_ID as string,
    clientSecret: env.MEDPLUM_CLIENT_SECRET as string,
  };
}

/** Hosted Medplum runs bots in AWS Lambda; a self-hosted server usually in a VM context. */
export function defaultRuntime(baseUrl: string): BotRuntime {
  return new URL(baseUrl).host === new URL(HOSTED_BASE_URL).host ? 'awslambda' : 'vmcontext';
}

function readBaseUrl(value: string): string {
  const fix = `set it to your server, e.g. ${HOSTED_BASE_URL}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DeployError(`MEDPLUM_BASE_URL "${value}" is not a URL`, fix);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DeployError(`MEDPLUM_BASE_URL "${value}" is not http(s)`, fix);
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

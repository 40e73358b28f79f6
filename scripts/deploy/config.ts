// Reads medplum.config.json and the AccessPolicy files it names, and checks them all before deploy
// talks to Medplum, so that a typo fails the run before anything is written.
import type { AccessPolicy } from '@medplum/fhirtypes';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { BotRuntime, Route } from './args.ts';
import { ROUTES, RUNTIMES } from './args.ts';
import { DeployError } from './errors.ts';
import { validationProblems } from './fhir.ts';

/** The read-only-Bot policy each webhook ClientApplication gets a copy of, limited to its bot. */
export const WEBHOOK_CLIENT_POLICY_FILE = 'access-policies/webhook-client.json';

/** One entry of medplum.config.json, checked, with its files read. */
export interface BotEntry {
  readonly name: string;
  readonly vendor: string;
  /** Project secrets the bot reads. */
  readonly secrets: readonly string[];
  readonly runtime?: BotRuntime;
  readonly route?: Route;
  /** Paths as written in the config, relative to its directory: for messages. */
  readonly source: string;
  readonly dist: string;
  readonly accessPolicyFile: string;
  /** The AccessPolicy JSON of access-policies/<bot>.json. */
  readonly accessPolicy: AccessPolicy;
}

export interface DeployConfig {
  /** The directory of medplum.config.json: every path in it is relative to this. */
  readonly root: string;
  readonly configPath: string;
  readonly bots: readonly BotEntry[];
  readonly webhookClientPolicy: AccessPolicy;
}

type RawEntry = Record<string, unknown>;

/** Reads the config and every file it names; throws a DeployError on the first problem. */
export function readDeployConfig(configPath: string): DeployConfig {
  const root = dirname(configPath);
  const raw = readJsonFile(configPath, 'the bot list') as { bots?: unknown };
  if (!Array.isArray(raw.bots) || raw.bots.length === 0) {
    throw new DeployError(`${configPath} has no "bots" entries`, 'list them as the README shows.');
  }
  const bots = raw.bots.map((entry: RawEntry, index: number) => readEntry(root, entry, `${configPath} bots[${index}]`));
  const names = bots.map((bot) => bot.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) {
    const cause = `${configPath} names the bot "${duplicate}" twice`;
    throw new DeployError(cause, 'give every bot its own name.');
  }
  const webhookClientPolicy = readAccessPolicy(root, WEBHOOK_CLIENT_POLICY_FILE);
  return { root, configPath, bots, webhookClientPolicy };
}

/** The bots named on the command line, in config order; all of them when none is named. */
export function selectBots(config: DeployConfig, names: readonly string[]): BotEntry[] {
  const known = config.bots.map((bot) => bot.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new DeployError(
      `no bot named ${unknown.join(', ')} in ${config.configPath}`,
      `name one of: ${known.join(', ')}; or name none to deploy them all.`
    );
  }
  return config.bots.filter((bot) => names.length === 0 || names.includes(bot.name));
}

/** The absolute path of a path written in the config. */
export function inRoot(config: DeployConfig, path: string): string {
  return resolve(config.root, path);
}

function readEntry(root: string, entry: RawEntry, where: string): BotEntry {
  const name = requireString(entry, 'name', where);
  const source = requireString(entry, 'source', where);
  const dist = requireString(entry, 'dist', where);
  const accessPolicyFile = requireString(entry, 'accessPolicy', where);
  const secrets = entry.secrets ?? [];
  const isName = (secret: unknown): boolean => typeof secret === 'string' && secret !== '';
  if (!Array.isArray(secrets) || !secrets.every(isName)) {
    throw new DeployError(`${where}.secrets is not a list of names`, 'write it as ["NAME", ...].');
  }
  if (!existsSync(join(root, source))) {
    throw new DeployError(`${where}.source ${source} does not exist`, 'fix the path or add the bot.');
  }
  return {
    name,
    vendor: typeof entry.vendor === 'string' ? entry.vendor : name,
    secrets,
    runtime: optionalOneOf(entry, 'runtime', RUNTIMES, where),
    route: optionalOneOf(entry, 'route', ROUTES, where),
    source,
    dist,
    accessPolicyFile,
    accessPolicy: readAccessPolicy(root, accessPolicyFile),
  };
}

function readAccessPolicy(root: string, file: string): AccessPolicy {
  const policy = readJsonFile(join(root, file), 'an AccessPolicy') as AccessPolicy;
  if (policy.resourceType !== 'AccessPolicy' || !policy.name || !Array.isArray(policy.resource)) {
    throw new DeployError(
      `${shown(join(root, file))} is not an AccessPolicy with a name and a resource list`,
      'write it as {"resourceType": "AccessPolicy", "name": ..., "resource": [...]}.'
    );
  }
  const problems = validationProblems(policy);
  if (problems.length > 0) {
    throw new DeployError(
      `${shown(join(root, file))} is not an AccessPolicy Medplum accepts: ${problems.join('; ')}`,
      'edit the file: an AccessPolicy has a name, resource rules and optionally basedOn, ' +
        'compartment, ipAccessRule; anything else is refused on write.'
    );
  }
  return policy;
}

function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) {
    const fix = 'create it, or fix the path that names it.';
    throw new DeployError(`${shown(path)} does not exist (expected ${what})`, fix);
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const cause = `${shown(path)} is not valid JSON: ${(err as Error).message}`;
    throw new DeployError(cause, 'fix the JSON.');
  }
}

/** A path as short as it can be shown: relative to the working directory when it is inside it. */
function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

function requireString(entry: RawEntry, key: string, where: string): string {
  const value = entry[key];
  if (typeof value !== 'string' || value === '') {
    throw new DeployError(`${where} has no "${key}"`, `add "${key}" to it (see the README).`);
  }
  return value;
}

function optionalOneOf<T extends string>(
  entry: RawEntry,
  key: string,
  allowed: readonly T[],
  where: string
): T | undefined {
  const value = entry[key];
  if (value === undefined || (allowed as readonly unknown[]).includes(value)) {
    return value as T | undefined;
  }
  const cause = `${where}.${key} is ${JSON.stringify(value)}`;
  throw new DeployError(cause, `use one of: ${allowed.join(', ')}.`);
}

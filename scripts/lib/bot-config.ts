// Reads medplum.config.json: the list of bots, as the Medplum CLI and our scripts see it.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where medplum.config.json, dist/ and test/fixtures/ live. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CONFIG_PATH = join(REPO_ROOT, 'medplum.config.json');
export const DEFAULT_FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures');

export interface BotDefinition {
  /** The bot's name, used in routes (`Bot/{name}/$execute`) and as its fixtures folder. */
  readonly name: string;
  /** Absolute path of the TypeScript entry point. */
  readonly source: string;
  /** Absolute path of the built bundle that the runner executes. */
  readonly dist: string;
  /** The project secrets the bot reads. */
  readonly secrets: readonly string[];
  readonly vendor: string;
}

interface RawBot {
  name?: unknown;
  source?: unknown;
  dist?: unknown;
  secrets?: unknown;
  vendor?: unknown;
}

export interface LoadBotsOptions {
  readonly configPath?: string;
  /** Look for bundles here instead of each bot's `dist` directory (same file names). */
  readonly distDir?: string;
}

/** Loads the bots of a medplum.config.json, with paths resolved against the file's directory. */
export function loadBots({ configPath = DEFAULT_CONFIG_PATH, distDir }: LoadBotsOptions = {}): BotDefinition[] {
  if (!existsSync(configPath)) {
    throw new Error(`${configPath} does not exist; pass the path of a medplum.config.json.`);
  }
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { bots?: RawBot[] };
  if (!Array.isArray(config.bots)) {
    throw new Error(`${configPath} has no "bots" array; see the README for its format.`);
  }
  const root = dirname(resolve(configPath));
  return config.bots.map((raw, index) => toDefinition(raw, { root, distDir, where: `${configPath} bots[${index}]` }));
}

function toDefinition(raw: RawBot, context: { root: string; distDir?: string; where: string }): BotDefinition {
  const { root, distDir, where } = context;
  if (typeof raw.name !== 'string' || typeof raw.dist !== 'string') {
    throw new Error(`${where} needs a "name" and a "dist"; fix the entry.`);
  }
  const dist = distDir ? join(resolve(distDir), basename(raw.dist)) : resolve(root, raw.dist);
  return {
    name: raw.name,
    source: resolve(root, typeof raw.source === 'string' ? raw.source : `src/${raw.name}.ts`),
    dist,
    secrets: Array.isArray(raw.secrets) ? raw.secrets.filter((name): name is string => typeof name === 'string') : [],
    vendor: typeof raw.vendor === 'string' ? raw.vendor : raw.name,
  };
}

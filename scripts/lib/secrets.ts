// Where the local scripts find bot secrets: explicit values first, then the environment, then `.env`, then
// (when allowed) the fixed demo values of the signers. The runner hands them to bots as Medplum hands a
// project's secrets: `{ NAME: { name, valueString } }`.
import type { ProjectSetting } from '@medplum/fhirtypes';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { REPO_ROOT } from './bot-config.ts';

/** Suffix of the optional secret that holds the previous value during a key rotation (see src/lib/secrets.ts). */
export const PREVIOUS_SUFFIX = '_PREVIOUS';

export const DEFAULT_ENV_FILE = join(REPO_ROOT, '.env');

export type SecretOrigin = 'option' | 'environment' | '.env' | 'demo value';

export interface ResolvedSecret {
  readonly value: string;
  readonly origin: SecretOrigin;
}

export interface SecretSources {
  /** Values that win over everything else (tests, demo, `--secret`). */
  readonly explicit?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The `.env` file to read (missing is fine), or false to read none. */
  readonly envFile?: string | false;
  /** Used for a name nobody set, so the runner and `send` agree out of the box. Never real secrets. */
  readonly demoValues?: Readonly<Record<string, string>>;
}

/** Reads a `.env` file (KEY=value lines), or returns nothing when it does not exist. */
export function readDotEnv(path: string): Record<string, string> {
  if (!existsSync(path)) {
    return {};
  }
  const parsed = parseEnv(readFileSync(path, 'utf8'));
  const entries = Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return Object.fromEntries(entries);
}

export interface SecretSelection {
  readonly names: Iterable<string>;
  /** Also take every variable whose name starts with one of these (`OKTA_` for the okta bot's settings). */
  readonly prefixes?: readonly string[];
}

/** Resolves each selected secret from the sources, in order of precedence; unset names are left out. */
export function resolveSecrets(selection: SecretSelection, sources: SecretSources): Map<string, ResolvedSecret> {
  const { explicit = {}, env = process.env, envFile = DEFAULT_ENV_FILE, demoValues = {} } = sources;
  const dotEnv = envFile === false ? {} : readDotEnv(envFile);
  const layers: [SecretOrigin, Readonly<Record<string, string | undefined>>][] = [
    ['option', explicit],
    ['environment', env],
    ['.env', dotEnv],
    ['demo value', demoValues],
  ];
  const prefixes = selection.prefixes ?? [];
  const prefixed = layers
    .flatMap(([, layer]) => Object.keys(layer))
    .filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
  const resolved = new Map<string, ResolvedSecret>();
  for (const name of new Set([...selection.names, ...prefixed].sort())) {
    for (const [origin, layer] of layers) {
      const value = layer[name]?.trim();
      if (value) {
        resolved.set(name, { value, origin });
        break;
      }
    }
  }
  return resolved;
}

/** Every secret name a set of bots may read, with the `_PREVIOUS` rotation variant of each. */
export function secretNamesWithRotation(names: Iterable<string>): string[] {
  const all = new Set<string>();
  for (const name of names) {
    all.add(name);
    all.add(name + PREVIOUS_SUFFIX);
  }
  return [...all];
}

/** The secrets in the shape Medplum gives a bot (`event.secrets`). */
export function toProjectSecrets(resolved: ReadonlyMap<string, ResolvedSecret>): Record<string, ProjectSetting> {
  return Object.fromEntries([...resolved].map(([name, { value }]) => [name, { name, valueString: value }]));
}

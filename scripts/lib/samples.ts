// Sample payloads: test/fixtures/<source>/<name>.json, as the vendor documents them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FIXTURES_DIR } from './bot-config.ts';
import type { Signer } from './signers/index.ts';

export interface Sample {
  readonly source: string;
  /** The file name without `.json`, e.g. `invoice.paid`. */
  readonly name: string;
  readonly payload: unknown;
}

/** Names of the samples of a source, alphabetically; empty when the folder does not exist. */
export function sampleNames(source: string, fixturesDir = DEFAULT_FIXTURES_DIR): string[] {
  const dir = join(fixturesDir, source);
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/** Reads one sample; the error lists the samples that exist. */
export function readSample(source: string, name: string, fixturesDir = DEFAULT_FIXTURES_DIR): Sample {
  const bare = name.replace(/\.json$/, '');
  const path = join(fixturesDir, source, `${bare}.json`);
  if (!existsSync(path)) {
    const known = sampleNames(source, fixturesDir);
    const hint = known.length > 0 ? `samples: ${known.join(', ')}` : `there is no folder ${join(fixturesDir, source)}`;
    throw new Error(`No sample "${bare}" for ${source} (${hint}); pass one of them.`);
  }
  try {
    return { source, name: bare, payload: JSON.parse(readFileSync(path, 'utf8')) };
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); fix the fixture.`, { cause: err });
  }
}

/** Every sample of a source, in the order the vendor would have sent them (event time, then name). */
export function readSamples(signer: Signer, fixturesDir = DEFAULT_FIXTURES_DIR): Sample[] {
  const samples = sampleNames(signer.source, fixturesDir).map((name) => readSample(signer.source, name, fixturesDir));
  const time = (sample: Sample): number => signer.occurredAt?.(sample.payload) ?? Number.MAX_SAFE_INTEGER;
  return samples.sort((a, b) => time(a) - time(b) || a.name.localeCompare(b.name));
}

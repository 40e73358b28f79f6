// Bundle sizes: the bot as `npm run build` ships it, beside the same bot with its vendor's SDK bundled in.
// The SDK variant is built on the fly into a temp folder with the bots' own build options.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { botBuildOptions } from '../../bot-build-options.mjs';
import { REPO_ROOT } from '../lib/bot-config.ts';

export interface BundleSize {
  /** Where the measured file is: dist/ for ours, a temp folder (removed after the run) for the SDK variant. */
  readonly path: string;
  readonly bytes: number;
  /** Size after gzip at zlib's default level, as an HTTP server or an upload would compress it. */
  readonly gzipBytes: number;
}

/** Bundles an entry exactly as `npm run build` bundles a bot. */
export async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    ...botBuildOptions(relative(REPO_ROOT, resolve(REPO_ROOT, entry)), outfile),
    absWorkingDir: REPO_ROOT,
  });
}

export function measureFile(path: string): BundleSize {
  const contents = readFileSync(path);
  const shown = path.startsWith(REPO_ROOT) ? relative(REPO_ROOT, path) : path;
  return { path: shown, bytes: contents.length, gzipBytes: gzipSync(contents).length };
}

/**
 * Rebuilds the bot and checks that the result is byte for byte the bundle in dist/, so the figures are
 * those of the current source, and the SDK variant differs from ours by the SDK alone.
 */
export async function checkSameBuild(options: {
  readonly source: string;
  readonly dist: string;
  readonly tempDir: string;
}): Promise<void> {
  const { source, dist, tempDir } = options;
  const rebuilt = join(tempDir, `${relative(REPO_ROOT, source).replace(/[/\\]/g, '_')}.rebuilt.js`);
  await bundle(source, rebuilt);
  if (!readFileSync(rebuilt).equals(readFileSync(dist))) {
    throw new Error(`${relative(REPO_ROOT, dist)} is not a build of the current ${source}; run \`npm run build\`.`);
  }
}

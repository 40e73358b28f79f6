// Rebuilds the bundles that are missing or older than the code they are built from, with the
// repository's own build (`node esbuild-script.mjs <names>`), so deploy never ships a stale bundle.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BotEntry, DeployConfig } from './config.ts';
import { inRoot } from './config.ts';
import { DeployError } from './errors.ts';

export const BUILD_SCRIPT = 'esbuild-script.mjs';

/** The bots whose bundle is missing, or older than their source or anything under src/. */
export function staleBundles(config: DeployConfig, bots: readonly BotEntry[]): BotEntry[] {
  const newestShared = newestMtimeMs(join(config.root, 'src'));
  return bots.filter((bot) => {
    const dist = inRoot(config, bot.dist);
    if (!existsSync(dist)) {
      return true;
    }
    const newestInput = Math.max(newestShared, statSync(inRoot(config, bot.source)).mtimeMs);
    return statSync(dist).mtimeMs < newestInput;
  });
}

/** Runs the build for these bots and checks that each bundle now exists. */
export async function buildBundles(
  config: DeployConfig,
  bots: readonly BotEntry[],
  log: (line: string) => void
): Promise<void> {
  const names = bots.map((bot) => bot.name);
  if (!existsSync(join(config.root, BUILD_SCRIPT))) {
    const cause = `${BUILD_SCRIPT} is missing beside ${config.configPath}`;
    throw new DeployError(cause, 'restore it from the repository.');
  }
  const { code, output } = await runNode(config.root, [BUILD_SCRIPT, ...names]);
  for (const line of output.trimEnd().split('\n').filter(Boolean)) {
    log(`    ${line}`);
  }
  if (code !== 0) {
    const cause = `node ${BUILD_SCRIPT} ${names.join(' ')} exited with code ${code}`;
    throw new DeployError(cause, 'fix the build errors above.');
  }
  for (const bot of bots) {
    if (!existsSync(inRoot(config, bot.dist))) {
      throw new DeployError(
        `the build did not write ${bot.dist} for the bot "${bot.name}"`,
        `make "dist" in its config entry the file ${BUILD_SCRIPT} writes for "${bot.source}".`
      );
    }
  }
}

/** The newest modification time of the non-test files under a directory; 0 if there is none. */
function newestMtimeMs(dir: string): number {
  if (!existsSync(dir)) {
    return 0;
  }
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function runNode(cwd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

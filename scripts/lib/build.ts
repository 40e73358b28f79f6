// "Builds if needed" for the demo and the runner tests: runs `npm run build`'s script for the bots whose
// bundle is missing or older than any source file they may include.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BotDefinition } from './bot-config.ts';
import { REPO_ROOT } from './bot-config.ts';

const BUILD_SCRIPT = join(REPO_ROOT, 'esbuild-script.mjs');
const SOURCE_DIR = join(REPO_ROOT, 'src');

/** The bots whose TypeScript source exists (a bot listed before its code lands is left out). */
export function botsWithSource(bots: readonly BotDefinition[]): BotDefinition[] {
  return bots.filter((bot) => existsSync(bot.source));
}

/** True when a bundle is missing or older than the newest non-test TypeScript file under src/. */
export function isStale(bot: BotDefinition, newestSourceMs = newestSourceTime(SOURCE_DIR)): boolean {
  return !existsSync(bot.dist) || statSync(bot.dist).mtimeMs < newestSourceMs;
}

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      newest = Math.max(newest, newestSourceTime(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Builds the given bots with esbuild-script.mjs when any bundle is stale; returns the names it built. */
export function buildIfNeeded(bots: readonly BotDefinition[], log: (line: string) => void): string[] {
  const newest = newestSourceTime(SOURCE_DIR);
  const stale = bots.filter((bot) => isStale(bot, newest));
  if (stale.length === 0) {
    return [];
  }
  const names = stale.map((bot) => bot.name);
  log(`Building ${names.join(', ')} (${stale.map((bot) => relative(REPO_ROOT, bot.dist)).join(', ')})`);
  const result = spawnSync(process.execPath, [BUILD_SCRIPT, ...names], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new Error(`The build failed:\n${output}\nFix the error above, then run again (or \`npm run build\`).`);
  }
  return names;
}

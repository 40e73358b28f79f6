// `npm run bench -- [source...] [--quick]`: what choosing these bots buys over a hand-written one, measured
// in one run on one machine. Per bot: bundle size beside the same bot with its vendor's SDK bundled in, cold
// load in a fresh VM context, signature verification throughput beside the SDK's verifier, events per second
// and FHIR requests per event beside a naive search-then-write implementation, and peak heap.
// Prints a Markdown table on stdout and writes JSON (bench-results/latest.json). Never part of `npm test`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { BotDefinition } from './lib/bot-config.ts';
import { loadBots, REPO_ROOT } from './lib/bot-config.ts';
import { botsWithSource, buildIfNeeded } from './lib/build.ts';
import { machineInfo } from './bench/machine.ts';
import type { BotResults } from './bench/measure.ts';
import { measureBot } from './bench/measure.ts';
import type { BenchOptions } from './bench/options.ts';
import { parseBenchArgs, USAGE } from './bench/options.ts';
import type { BenchProfile } from './bench/profiles/index.ts';
import { findProfile, profileNames } from './bench/profiles/index.ts';
import type { RunInfo } from './bench/report.ts';
import { readResultsJson, renderRun, resultsJson } from './bench/report.ts';

interface Target {
  readonly bot: BotDefinition;
  readonly profile: BenchProfile;
}

const startedMs = Date.now();

/** Progress goes to stderr, so stdout carries only the table. */
function step(message: string): void {
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${seconds} s] ${message}\n`);
}

function profileHint(name: string): string {
  return `add scripts/bench/profiles/${name}.ts and list it in scripts/bench/profiles/index.ts`;
}

/** The bots to measure: the named ones (each must exist, have code and a profile), else all that can be. */
function selectTargets(names: readonly string[]): Target[] {
  const bots = loadBots();
  const ready = botsWithSource(bots);
  if (names.length === 0) {
    const targets = ready.flatMap((bot) => {
      const profile = findProfile(bot.name);
      if (!profile) {
        step(`skipping ${bot.name}: no benchmark profile (${profileHint(bot.name)})`);
      }
      return profile ? [{ bot, profile }] : [];
    });
    if (targets.length === 0) {
      throw new Error(`No bot can be benchmarked; profiles exist for: ${profileNames().join(', ')}.`);
    }
    return targets;
  }
  return names.map((name) => {
    const bot = bots.find((candidate) => candidate.name === name);
    if (!bot) {
      throw new Error(`No bot named ${name} in medplum.config.json; known: ${bots.map((b) => b.name).join(', ')}.`);
    }
    if (!ready.includes(bot)) {
      throw new Error(`${relative(REPO_ROOT, bot.source)} does not exist yet, so ${name} cannot be benchmarked.`);
    }
    const profile = findProfile(name);
    if (!profile) {
      throw new Error(`No benchmark profile for ${name}; ${profileHint(name)}.`);
    }
    return { bot, profile };
  });
}

function warnIfBusy(loadAverage: number): void {
  const cores = os.cpus().length;
  if (loadAverage > cores / 2) {
    step(`the machine is busy (load average ${loadAverage.toFixed(1)} on ${cores} cores): expect noisy figures`);
  }
}

async function measureAll(targets: readonly Target[], options: BenchOptions): Promise<BotResults[]> {
  const tempDir = mkdtempSync(join(os.tmpdir(), 'medplum-bench-'));
  try {
    const results: BotResults[] = [];
    for (const { bot, profile } of targets) {
      results.push(await measureBot({ bot, profile, options, tempDir, step }));
    }
    return results;
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Writes the JSON, and the table beside it as Markdown (latest.json -> latest.md) for the README. */
interface Output {
  readonly run: RunInfo;
  readonly options: BenchOptions;
  readonly bots: readonly BotResults[];
  readonly table: string;
}

/** Writes the JSON, and the table beside it as Markdown (latest.json -> latest.md) for the README. */
function writeResults({ run, options, bots, table }: Output): string[] {
  const { help: _help, from: _from, out, ...measured } = options;
  const markdown = out.replace(/(\.json)?$/, '.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, resultsJson(run, measured, bots));
  writeFileSync(markdown, table);
  return [out, markdown].map((path) => relative(process.cwd(), path));
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  if (options.from) {
    const { run, bots } = readResultsJson(readFileSync(options.from, 'utf8'));
    process.stdout.write(renderRun(run, bots));
    return;
  }
  const targets = selectTargets(options.sources);
  const loadAverageAtStart = os.loadavg()[0];
  warnIfBusy(loadAverageAtStart);
  step(`measuring ${targets.map((target) => target.bot.name).join(', ')}${options.quick ? ' (--quick)' : ''}`);
  buildIfNeeded(
    targets.map((target) => target.bot),
    step
  );
  const bots = await measureAll(targets, options);
  const run: RunInfo = {
    machine: machineInfo(),
    startedAt: new Date(startedMs).toISOString(),
    durationSeconds: (Date.now() - startedMs) / 1000,
    loadAverageAtStart,
    quick: options.quick,
  };
  const table = renderRun(run, bots);
  const written = writeResults({ run, options, bots, table });
  process.stdout.write(table);
  step(`done in ${Math.round(run.durationSeconds)} s; wrote ${written.join(' and ')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

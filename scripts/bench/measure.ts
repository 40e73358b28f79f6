// The measurements of one bot, in the order the table shows them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BotDefinition } from '../lib/bot-config.ts';
import { REPO_ROOT } from '../lib/bot-config.ts';
import type { BundleSize } from './bundles.ts';
import { bundle, checkSameBuild, measureFile } from './bundles.ts';
import type { LoadTimes } from './cold-load.ts';
import { measureColdLoads } from './cold-load.ts';
import { runEndToEnd } from './e2e.ts';
import type { WorkerResult } from './e2e-worker.ts';
import type { BenchOptions } from './options.ts';
import type { BenchProfile } from './profiles/index.ts';
import type { Rate } from './verify-rate.ts';
import { measureRates } from './verify-rate.ts';

export interface BotResults {
  readonly source: string;
  readonly vendor: string;
  /** Why there is no SDK to compare with, when there is none. */
  readonly noSdkReason?: string;
  readonly bundle: { readonly ours: BundleSize; readonly sdk?: BundleSize & { readonly packageName: string } };
  readonly coldLoad: { readonly runs: number; readonly ours: LoadTimes; readonly sdk?: LoadTimes };
  readonly verification: {
    readonly sample: string;
    readonly sampleBytes?: number;
    readonly iterationsPerRound: number;
    readonly rounds: number;
    readonly ours: Rate;
    readonly sdk?: Rate;
    readonly oursParsed?: Rate;
  };
  readonly endToEnd: {
    readonly mix: string;
    readonly setName: string;
    readonly setsPerStore: number;
    readonly bot: WorkerResult;
    readonly naive: WorkerResult;
  };
}

export interface MeasureContext {
  readonly bot: BotDefinition;
  readonly profile: BenchProfile;
  readonly options: BenchOptions;
  /** A temp folder for the SDK variant's bundle. */
  readonly tempDir: string;
  readonly step: (message: string) => void;
}

async function measureBundles({ bot, profile, tempDir }: MeasureContext): Promise<BotResults['bundle']> {
  await checkSameBuild({ source: bot.source, dist: bot.dist, tempDir });
  const ours = measureFile(bot.dist);
  if (!profile.sdk) {
    return { ours };
  }
  const outfile = join(tempDir, `${bot.name}-with-sdk.js`);
  await bundle(profile.sdk.entry, outfile);
  return { ours, sdk: { ...measureFile(outfile), packageName: profile.sdk.packageName } };
}

function measureLoads(context: MeasureContext, sizes: BotResults['bundle']): BotResults['coldLoad'] {
  const runs = context.options.coldLoadRuns;
  const files = [sizes.ours, ...(sizes.sdk ? [sizes.sdk] : [])];
  const codes = files.map((size) => readFileSync(resolve(REPO_ROOT, size.path), 'utf8'));
  const [ours, sdk] = measureColdLoads(codes, runs);
  return { runs, ours, ...(sdk ? { sdk } : {}) };
}

async function measureVerification({ profile, options }: MeasureContext): Promise<BotResults['verification']> {
  const cases = profile.verifiers();
  const verifiers = [cases.ours, ...(cases.sdk ? [cases.sdk] : []), ...(cases.oursParsed ? [cases.oursParsed] : [])];
  // A verifier that runs the handler logs its decision; the lines would only cost time here.
  const log = console.log;
  console.log = (): void => undefined;
  const rates = await measureRates(verifiers, {
    iterations: options.verifyIterations,
    rounds: options.verifyRounds,
  }).finally(() => (console.log = log));
  const rateOf = (label: string | undefined): Rate | undefined => rates.find((rate) => rate.label === label);
  return {
    sample: cases.sample,
    sampleBytes: cases.sampleBytes,
    iterationsPerRound: options.verifyIterations,
    rounds: options.verifyRounds,
    ours: rateOf(cases.ours.label) as Rate,
    sdk: rateOf(cases.sdk?.label),
    oursParsed: rateOf(cases.oursParsed?.label),
  };
}

async function measureEndToEnd({ bot, profile, options, step }: MeasureContext): Promise<BotResults['endToEnd']> {
  const scenario = profile.scenario();
  step(`${bot.name}: end to end, the bot and the naive baseline taking turns (${options.events} events each)`);
  let reported = 0;
  const progress = (events: number): void => {
    if (events - reported >= options.events / 5 || events >= options.events) {
      reported = events;
      step(`${bot.name}: ${events}/${options.events} events each`);
    }
  };
  const run = { source: bot.name, events: options.events, setsPerStore: options.setsPerStore };
  const { bot: ours, naive } = await runEndToEnd(run, progress);
  return { mix: scenario.description, setName: scenario.setName, setsPerStore: options.setsPerStore, bot: ours, naive };
}

export async function measureBot(context: MeasureContext): Promise<BotResults> {
  const { bot, profile, step } = context;
  step(`${bot.name}: bundle sizes${profile.sdk ? `, and a build with ${profile.sdk.packageName} bundled in` : ''}`);
  const sizes = await measureBundles(context);
  step(`${bot.name}: cold loads in a fresh VM context (${context.options.coldLoadRuns} runs each)`);
  const coldLoad = measureLoads(context, sizes);
  step(`${bot.name}: verification throughput`);
  const verification = await measureVerification(context);
  const endToEnd = await measureEndToEnd(context);
  if (endToEnd.bot.check.setsWrong > 0) {
    const problems = Object.keys(endToEnd.bot.check.problems).join('; ');
    throw new Error(`The ${bot.name} bot left ${endToEnd.bot.check.setsWrong} ${endToEnd.setName}s wrong: ${problems}`);
  }
  return {
    source: bot.name,
    vendor: bot.vendor,
    ...(profile.noSdkReason ? { noSdkReason: profile.noSdkReason } : {}),
    bundle: sizes,
    coldLoad,
    verification,
    endToEnd,
  };
}

// One end-to-end run in its own process (started by scripts/bench/e2e.ts with --expose-gc), so its peak heap
// belongs to it alone. Feeds a bot's scenario through its handler against MockClient (FHIR definitions
// loaded), the bot's own way or the naive way. The parent advances it a few object sets at a time over IPC,
// taking turns with the other implementation's worker, so both see the same load on the machine.
import type { MedplumClient } from '@medplum/core';
import { MockClient } from '@medplum/mock';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { loadFhirDefinitions } from '../lib/fhir-store.ts';
import type { RequestCount } from './fhir-requests.ts';
import { addCounts, countRequests } from './fhir-requests.ts';
import { naiveClient } from './naive-client.ts';
import type { BenchProfile } from './profiles/index.ts';
import { findProfile } from './profiles/index.ts';
import type { Scenario } from './profiles/types.ts';

export type Implementation = 'bot' | 'naive';

export interface WorkerOptions {
  readonly source: string;
  readonly impl: Implementation;
  readonly events: number;
  /** Object sets per MockClient store before a fresh one starts (see README: MockClient scans to search). */
  readonly setsPerStore: number;
}

export interface WorkerResult {
  readonly source: string;
  readonly impl: Implementation;
  readonly events: number;
  readonly objectSets: number;
  /** Time inside the handler only: signing the deliveries and checking the records are left out. */
  readonly handlerSeconds: number;
  readonly eventsPerSecond: number;
  readonly requests: {
    readonly total: number;
    readonly perEvent: number;
    readonly byKind: Record<string, number>;
    /** MockClient's own searches per event (see RequestCount.storeSearches). */
    readonly storeSearchesPerEvent?: number;
  };
  readonly heap: {
    /** heapUsed after loading FHIR definitions and a forced GC, before the first event. */
    readonly baselineBytes: number;
    /** The highest heapUsed sampled after each event: garbage not yet collected included, so GC timing shows. */
    readonly peakBytes: number;
    /** The highest heapUsed right after a forced GC, taken every LIVE_HEAP_EVERY_SETS object sets. */
    readonly peakLiveBytes: number;
    /** heapUsed after the last event and a forced GC, minus the baseline (the last store included). */
    readonly retainedBytes: number;
  };
  readonly check: {
    readonly setsChecked: number;
    readonly setsWrong: number;
    /** Each problem the scenario's check found, with the number of object sets that had it. */
    readonly problems: Record<string, number>;
  };
}

/** Messages from the parent: advance by some object sets, or finish and report. */
export type WorkerCommand = { readonly type: 'advance'; readonly sets: number } | { readonly type: 'finish' };
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'advanced'; readonly events: number }
  | { readonly type: 'result'; readonly result: WorkerResult };

interface Store {
  readonly medplum: MockClient;
  readonly count: RequestCount;
  sets: number;
}

/** How often the live heap is sampled: a forced full GC costs a few milliseconds, outside the timed calls. */
const LIVE_HEAP_EVERY_SETS = 10;

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const heapUsed = (): number => v8.getHeapStatistics().used_heap_size;

async function newStore(): Promise<Store> {
  const medplum = new MockClient({ seedDefaultData: false, cacheTime: 0 });
  const count = countRequests(medplum);
  // MockClient sets itself up on its first request; do that here, uncounted and untimed.
  count.paused = true;
  await medplum.searchResources('Patient', { _count: '1' });
  count.paused = false;
  return { medplum, count, sets: 0 };
}

/** One implementation's run: the running totals and the store it writes to now. */
class Runner {
  events = 0;
  sets = 0;
  handlerMs = 0;
  peakBytes = 0;
  peakLiveBytes = 0;
  baselineBytes = 0;
  readonly requests: RequestCount = { total: 0, byKind: {}, storeSearches: 0, paused: false };
  readonly check = { setsChecked: 0, setsWrong: 0, problems: {} as Record<string, number> };
  readonly options: WorkerOptions;
  readonly profile: BenchProfile;
  readonly scenario: Scenario;
  store: Store;

  constructor(options: WorkerOptions, profile: BenchProfile, store: Store) {
    this.options = options;
    this.profile = profile;
    this.scenario = profile.scenario();
    this.store = store;
  }
}

async function startRunner(options: WorkerOptions, profile: BenchProfile): Promise<Runner> {
  loadFhirDefinitions();
  const runner = new Runner(options, profile, await newStore());
  gc();
  runner.baselineBytes = heapUsed();
  runner.peakBytes = runner.baselineBytes;
  runner.peakLiveBytes = runner.baselineBytes;
  return runner;
}

/** Delivers up to `sets` more object sets, each with fresh ids; returns the events delivered so far. */
async function advance(runner: Runner, sets: number): Promise<number> {
  for (let i = 0; i < sets && runner.events < runner.options.events; i++) {
    if (runner.store.sets === runner.options.setsPerStore) {
      addCounts(runner.requests, runner.store.count);
      runner.store = await newStore();
    }
    await deliverSet(runner);
    runner.store.sets++;
    runner.sets++;
    if (runner.sets % LIVE_HEAP_EVERY_SETS === 0) {
      gc();
      runner.peakLiveBytes = Math.max(runner.peakLiveBytes, heapUsed());
    }
  }
  return runner.events;
}

async function deliverSet(runner: Runner): Promise<void> {
  const { profile, scenario, store, options } = runner;
  const { events } = scenario.deliveries(runner.sets);
  const due = events.slice(0, options.events - runner.events);
  for (const event of due) {
    const client = options.impl === 'bot' ? store.medplum : (naiveClient(store.medplum) as MedplumClient);
    const start = performance.now();
    await profile.handler(client, event);
    runner.handlerMs += performance.now() - start;
    runner.peakBytes = Math.max(runner.peakBytes, heapUsed());
  }
  runner.events += due.length;
  if (due.length === events.length) {
    await checkSet(runner);
  }
}

async function checkSet(runner: Runner): Promise<void> {
  const { store, check } = runner;
  store.count.paused = true;
  const problems = await runner.scenario.check(store.medplum, runner.sets);
  store.count.paused = false;
  check.setsChecked++;
  check.setsWrong += problems.length > 0 ? 1 : 0;
  for (const problem of problems) {
    check.problems[problem] = (check.problems[problem] ?? 0) + 1;
  }
}

function finish(runner: Runner): WorkerResult {
  addCounts(runner.requests, runner.store.count);
  gc();
  const { options, events, requests } = runner;
  const handlerSeconds = runner.handlerMs / 1000;
  return {
    source: options.source,
    impl: options.impl,
    events,
    objectSets: runner.sets,
    handlerSeconds,
    eventsPerSecond: events / handlerSeconds,
    requests: {
      total: requests.total,
      perEvent: requests.total / events,
      byKind: requests.byKind,
      ...(requests.storeSearches === undefined ? {} : { storeSearchesPerEvent: requests.storeSearches / events }),
    },
    heap: {
      baselineBytes: runner.baselineBytes,
      peakBytes: runner.peakBytes,
      peakLiveBytes: runner.peakLiveBytes,
      retainedBytes: heapUsed() - runner.baselineBytes,
    },
    check: runner.check,
  };
}

function parseWorkerArgs(argv: string[]): WorkerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      impl: { type: 'string' },
      events: { type: 'string' },
      'sets-per-store': { type: 'string' },
    },
  });
  const { source, impl } = values;
  const events = Number(values.events);
  const setsPerStore = Number(values['sets-per-store']);
  if (!source || (impl !== 'bot' && impl !== 'naive') || !(events > 0) || !(setsPerStore > 0)) {
    throw new Error('Usage: e2e-worker.ts --source NAME --impl bot|naive --events N --sets-per-store N (with IPC)');
  }
  return { source, impl, events, setsPerStore };
}

function reply(message: WorkerReply): void {
  (process.send as (message: WorkerReply) => void)(message);
}

function fail(err: unknown): void {
  process.stderr.write(`e2e worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  if (!process.send) {
    throw new Error('Start this worker with an IPC channel, as scripts/bench/e2e.ts does.');
  }
  const options = parseWorkerArgs(process.argv.slice(2));
  const profile = findProfile(options.source);
  if (!profile) {
    throw new Error(`No benchmark profile for ${options.source}.`);
  }
  // The bots log one line per decision; Medplum keeps them in the AuditEvent, here they would only cost time.
  console.log = (): void => undefined;
  const runner = await startRunner(options, profile);
  process.on('message', (command: WorkerCommand) => {
    if (command.type === 'advance') {
      advance(runner, command.sets)
        .then((events) => reply({ type: 'advanced', events }))
        .catch(fail);
    } else {
      reply({ type: 'result', result: finish(runner) });
      process.disconnect();
    }
  });
  reply({ type: 'ready' });
}

main().catch(fail);

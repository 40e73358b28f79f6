// `npm run demo`: builds if needed, starts the local runner on a free port, sends every sample of every bot
// signed as its vendor would, and prints what happened. Exits 0 only if every delivery did what its bot
// promises: a signed sample is answered 200, a tampered one 400 with nothing written, and the same samples
// delivered again (through the raw-body /webhook route) write nothing.
import { parseArgs } from 'node:util';
import { DEFAULT_LOCAL_CREDENTIALS } from './lib/basic-auth.ts';
import type { BotDefinition } from './lib/bot-config.ts';
import { DEFAULT_FIXTURES_DIR, loadBots } from './lib/bot-config.ts';
import { botsWithSource, buildIfNeeded } from './lib/build.ts';
import type { PostResult } from './lib/deliver.ts';
import { parseJsonBody, postDelivery, refusalReason, signSample } from './lib/deliver.ts';
import type { StoredWrite } from './lib/fhir-store.ts';
import type { Sample } from './lib/samples.ts';
import { readSamples } from './lib/samples.ts';
import type { Delivery, Handshake, Signer } from './lib/signers/index.ts';
import { demoSecrets, findSigner, missingSignerMessage } from './lib/signers/index.ts';
import type { Runner } from './local-runner.ts';
import { startRunner } from './local-runner.ts';

export interface DemoOptions {
  readonly configPath?: string;
  /** Bundles built elsewhere (tests); skips the build step. */
  readonly distDir?: string;
  readonly fixturesDir?: string;
  /** Progress lines; the table is returned, not printed. */
  readonly log?: (line: string) => void;
  /** Also show the runner's request lines. */
  readonly verbose?: boolean;
}

export interface DemoRow {
  readonly source: string;
  readonly sample: string;
  /** HTTP status, or undefined when nothing was sent. */
  readonly status?: number;
  readonly outcome: string;
  readonly written: string;
  /** Why this row did not do what the bot promises; undefined when it did. */
  readonly problem?: string;
}

export interface DemoReport {
  readonly rows: DemoRow[];
  readonly ok: boolean;
  /** A sample that wrote something, to suggest trying with `npm run send`. */
  readonly example?: { readonly source: string; readonly sample: string };
}

/** Runs the demo and returns its table; the caller prints it. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const log = options.log ?? (() => undefined);
  const bots = loadBots({ configPath: options.configPath, distDir: options.distDir });
  const present = options.distDir ? bots : botsWithSource(bots);
  if (!options.distDir) {
    buildIfNeeded(present, log);
  }
  const runner = await startRunner({
    port: 0,
    configPath: options.configPath,
    distDir: options.distDir,
    // Fixed demo values only: a real secret from the environment or .env must never be used here.
    secrets: demoSecrets(),
    env: {},
    envFile: false,
    credentials: DEFAULT_LOCAL_CREDENTIALS,
    log: options.verbose ? log : () => undefined,
  });
  log(`Runner on ${runner.url}; sending every sample of ${present.map((bot) => bot.name).join(', ') || 'no bot'}.`);
  const rows: DemoRow[] = bots.filter((bot) => !present.includes(bot)).map(missingSourceRow);
  try {
    for (const bot of present) {
      rows.push(...(await demoBot(runner, bot, options.fixturesDir ?? DEFAULT_FIXTURES_DIR)));
    }
  } finally {
    await runner.close();
  }
  rows.push(...runner.refusedWrites.map(refusedWriteRow));
  const example = rows.find((row) => row.status === 200 && row.written !== '0' && !row.sample.startsWith('all '));
  return {
    rows,
    ok: rows.length > 0 && rows.every((row) => row.problem === undefined),
    example: example && { source: example.source, sample: example.sample },
  };
}

function missingSourceRow(bot: BotDefinition): DemoRow {
  const problem = `${bot.source} does not exist; add the bot or remove it from medplum.config.json`;
  return { source: bot.name, sample: '-', outcome: 'no source', written: '-', problem };
}

function refusedWriteRow(refused: { resourceType: string; problems: string[] }): DemoRow {
  const problem = `a ${refused.resourceType} a Medplum server would refuse: ${refused.problems.join('; ')}`;
  return { source: '-', sample: 'invalid write', outcome: 'refused', written: '0', problem };
}

async function demoBot(runner: Runner, bot: BotDefinition, fixturesDir: string): Promise<DemoRow[]> {
  const signer = findSigner(bot.name);
  if (!signer) {
    const problem = missingSignerMessage(bot.name);
    return [{ source: bot.name, sample: '-', outcome: 'no signer', written: '-', problem }];
  }
  const samples = readSamples(signer, fixturesDir);
  if (samples.length === 0) {
    const problem = `no samples in ${fixturesDir}/${bot.name}/; add the vendor's sample payloads there`;
    return [{ source: bot.name, sample: '-', outcome: 'no samples', written: '-', problem }];
  }
  const context: BotContext = { runner, bot, signer };
  const rows: DemoRow[] = [];
  for (const handshake of signer.handshakes ?? []) {
    rows.push(await demoHandshake(context, handshake));
  }
  // Forgeries first, while the store is empty: a bot that accepted one would write something.
  rows.push(await demoTampered(context, samples));
  for (const sample of samples) {
    rows.push(await demoSample(context, sample));
  }
  rows.push(await demoRedelivery(context, samples));
  return rows;
}

interface BotContext {
  readonly runner: Runner;
  readonly bot: BotDefinition;
  readonly signer: Signer;
}

interface Exchange {
  readonly result: PostResult;
  readonly writes: StoredWrite[];
}

/** Posts one delivery and collects the writes of the execution(s) it caused. */
async function exchange(context: BotContext, delivery: Delivery, route: 'execute' | 'webhook'): Promise<Exchange> {
  const { runner, bot } = context;
  const before = runner.executions.length;
  const url = route === 'execute' ? runner.executeUrl(bot.name) : runner.webhookUrl(bot.name);
  const result = await postDelivery({ url, delivery, credentials: runner.credentials });
  const writes = runner.executions.slice(before).flatMap((execution) => execution.writes);
  return { result, writes };
}

function sign(context: BotContext, payload: unknown, tampered = false): Delivery {
  return signSample({ signer: context.signer, payload, secrets: demoSecrets(), tampered });
}

async function demoHandshake(context: BotContext, handshake: Handshake): Promise<DemoRow> {
  const prepared = handshake.prepare({ secrets: demoSecrets(), nowSeconds: Math.floor(Date.now() / 1000) });
  const { result, writes } = await exchange(context, prepared.delivery, 'execute');
  const problem = prepared.check(result.status, result.body) ?? nothingWritten(writes);
  const outcome = problem ? refusalReason(result.body) : handshake.description;
  return {
    source: context.bot.name,
    sample: handshake.name,
    status: result.status,
    outcome,
    written: describe(writes),
    problem,
  };
}

async function demoSample(context: BotContext, sample: Sample): Promise<DemoRow> {
  const { result, writes } = await exchange(context, sign(context, sample.payload), 'execute');
  const ok = result.status === 200;
  return {
    source: context.bot.name,
    sample: sample.name,
    status: result.status,
    outcome: ok ? botOutcome(result.body) : refusalReason(result.body),
    written: describe(writes),
    problem: ok ? undefined : `expected HTTP 200, got ${result.status}: ${refusalReason(result.body)}`,
  };
}

/** Every sample signed with a wrong secret: each must be refused with 400, and nothing written. */
async function demoTampered(context: BotContext, samples: Sample[]): Promise<DemoRow> {
  const sent: Exchange[] = [];
  for (const sample of samples) {
    sent.push(await exchange(context, sign(context, sample.payload, true), 'execute'));
  }
  const accepted = sent.map((one) => one.result.status).filter((status) => status !== 400);
  const writes = sent.flatMap((one) => one.writes);
  const wrongStatus = accepted.length > 0 ? `expected HTTP 400 for each, got ${accepted.join(', ')}` : undefined;
  return {
    source: context.bot.name,
    sample: `all ${samples.length}, wrong secret`,
    status: accepted[0] ?? 400,
    outcome: wrongStatus ? 'accepted a forgery' : `refused: ${refusalReason(sent[0].result.body)}`,
    written: describe(writes),
    problem: wrongStatus ?? nothingWritten(writes),
  };
}

/** Every sample again, freshly signed, through the raw-body route: a redelivery must change nothing. */
async function demoRedelivery(context: BotContext, samples: Sample[]): Promise<DemoRow> {
  const sent: Exchange[] = [];
  for (const sample of samples) {
    sent.push(await exchange(context, sign(context, sample.payload), 'webhook'));
  }
  const failed = sent.map((one) => one.result.status).filter((status) => status !== 200);
  const writes = sent.flatMap((one) => one.writes);
  const wrongStatus = failed.length > 0 ? `expected HTTP 200 for each, got ${failed.join(', ')}` : undefined;
  const problem = wrongStatus ?? nothingWritten(writes);
  return {
    source: context.bot.name,
    sample: `all ${samples.length} again via /webhook`,
    status: failed[0] ?? 200,
    outcome: problem ? 'changed the store or failed' : 'redeliveries: nothing changed',
    written: describe(writes),
    problem,
  };
}

function nothingWritten(writes: readonly StoredWrite[]): string | undefined {
  return writes.length === 0 ? undefined : `expected nothing written, but ${describe(writes)} were`;
}

interface BotSummary {
  readonly outcome?: unknown;
  readonly resourceType?: unknown;
  /** Bots that take batches (Okta) report one summary per event. */
  readonly events?: { outcome?: unknown }[];
}

/** The `outcome` of a bot's summary (`written x2, ignored` for a batch), or a glimpse of what it returned. */
function botOutcome(body: string): string {
  const parsed = parseJsonBody(body) as BotSummary | undefined;
  if (typeof parsed?.outcome === 'string') {
    return parsed.outcome;
  }
  if (Array.isArray(parsed?.events)) {
    return countOutcomes(parsed.events.map((event) => String(event.outcome)));
  }
  return parsed?.resourceType === 'OperationOutcome' ? 'ok' : body.slice(0, 40);
}

function countOutcomes(outcomes: string[]): string {
  const counts = new Map<string, number>();
  outcomes.forEach((outcome) => counts.set(outcome, (counts.get(outcome) ?? 0) + 1));
  const parts = [...counts].map(([outcome, count]) => (count > 1 ? `${outcome} x${count}` : outcome));
  return parts.join(', ') || 'no events';
}

/** `3 (Account, Invoice x2)`: distinct resources written, by type. */
function describe(writes: readonly StoredWrite[]): string {
  const resources = new Map(writes.map((write) => [`${write.resourceType}/${write.id}`, write.resourceType]));
  if (resources.size === 0) {
    return '0';
  }
  const byType = new Map<string, number>();
  for (const type of resources.values()) {
    byType.set(type, (byType.get(type) ?? 0) + 1);
  }
  const types = [...byType].map(([type, count]) => (count > 1 ? `${type} x${count}` : type));
  return `${resources.size} (${types.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------------------
// npm run demo

const MAX_OUTCOME_CHARS = 48;

/** The report as a fixed-width table, one row per delivery, and a verdict line. */
export function formatReport(report: DemoReport): string[] {
  const header = ['source', 'sample', 'HTTP', 'outcome', 'resources written', 'check'];
  const cells = report.rows.map((row) => [
    row.source,
    row.sample,
    row.status === undefined ? '-' : String(row.status),
    truncate(row.outcome, MAX_OUTCOME_CHARS),
    row.written,
    row.problem ? 'FAIL' : 'ok',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column].length)));
  const line = (cell: string[]): string =>
    cell
      .map((text, column) => text.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  const lines = [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)];
  const failures = report.rows.filter((row) => row.problem);
  lines.push('');
  if (failures.length === 0) {
    lines.push(`All ${report.rows.length} checks passed.`);
  } else {
    lines.push(`${failures.length} of ${report.rows.length} checks failed:`);
    lines.push(...failures.map((row) => `  ${row.source} ${row.sample}: ${row.problem}`));
  }
  return lines;
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { verbose: { type: 'boolean', short: 'v' }, config: { type: 'string' }, dist: { type: 'string' } },
  });
  const report = await runDemo({
    configPath: values.config,
    distDir: values.dist,
    verbose: values.verbose,
    log: (line) => console.log(line),
  });
  console.log('');
  formatReport(report).forEach((line) => console.log(line));
  if (report.ok && report.example) {
    const { source, sample } = report.example;
    console.log(`\nTry it yourself: \`npm start\`, then \`npm run send -- ${source} ${sample}\` in another terminal.`);
  }
  process.exitCode = report.ok ? 0 : 1;
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(`demo: ${err.message}`);
    process.exit(1);
  });
}

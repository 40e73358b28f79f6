// `npm run bench -- [source...] [--quick] [--events N] [--out FILE]`
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../lib/bot-config.ts';

export const USAGE = `Usage: npm run bench -- [source...] [options]

  [source...]          bots to measure, as named in medplum.config.json (default: every bot with a profile)

Options:
  --quick              smaller counts (1,000 events, fewer rounds): a check that it works, not figures to quote
  --events N           events per end-to-end run (default 10,000)
  --sets-per-store N   object sets (e.g. customers) per MockClient store before a fresh one starts (default 50)
  --out FILE           where to write the JSON results (default bench-results/latest.json; the table goes
                       beside it as latest.md)
  --from FILE          measure nothing: print the table of a JSON file this script wrote
  --help               print this

Prints a Markdown table on stdout (progress goes to stderr) and writes the JSON. Exit status 1 on any failure.`;

export interface BenchOptions {
  readonly sources: readonly string[];
  readonly quick: boolean;
  readonly events: number;
  readonly setsPerStore: number;
  readonly coldLoadRuns: number;
  readonly verifyIterations: number;
  readonly verifyRounds: number;
  readonly out: string;
  /** A results file to print instead of measuring. */
  readonly from?: string;
  readonly help: boolean;
}

const FULL = { events: 10_000, coldLoadRuns: 15, verifyIterations: 5_000, verifyRounds: 7 };
const QUICK = { events: 1_000, coldLoadRuns: 7, verifyIterations: 1_000, verifyRounds: 5 };

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      'sets-per-store': { type: 'string', default: '50' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench-results', 'latest.json') },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const counts = values.quick ? QUICK : FULL;
  return {
    sources: positionals,
    quick: values.quick,
    ...counts,
    events: positiveInteger('--events', values.events ?? String(counts.events)),
    setsPerStore: positiveInteger('--sets-per-store', values['sets-per-store']),
    out: values.out,
    ...(values.from ? { from: values.from } : {}),
    help: values.help,
  };
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number, not "${text}".`);
  }
  return value;
}

// The results as a person reads them (a Markdown table per bot, padded to read well in a terminal too) and
// as a machine compares them (JSON).
import type { MachineInfo } from './machine.ts';
import type { BotResults } from './measure.ts';
import { compare, formatBytes, formatInteger, formatMs } from './stats.ts';

interface Row {
  readonly measure: string;
  readonly ours: string;
  readonly baseline: string;
  readonly compared: string;
  readonly baselineIs: string;
}

export interface RunInfo {
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** One-minute load average before the run: other work on the machine makes the figures noisy. */
  readonly loadAverageAtStart: number;
  readonly quick: boolean;
}

/** Names the JSON layout; change it when a field changes meaning, so old files are not misread. */
const RESULTS_SCHEMA = 'medplum-webhook-bots/bench@1';
const NA = 'n/a';
const NO_SDK = 'n/a: no vendor SDK verifier (see below)';
const SDK_LOAD_NOTE = '¹';
const EXPLAINED = '²';
const GC_TIMING = '³';

function bytesCell(bytes: number): string {
  return `${formatBytes(bytes)} (${formatInteger(bytes)} B)`;
}

function bundleRows(results: BotResults): Row[] {
  const { ours, sdk } = results.bundle;
  const baselineIs = sdk ? `the same bot with ${sdk.packageName} bundled in` : NO_SDK;
  const smaller = (a: number, b: number): string =>
    compare({ ours: a, baseline: b, lowerIsBetter: true, better: 'smaller', worse: 'larger' }).text;
  const load = results.coldLoad;
  const loadNote = load.sdk?.failsInMedplumVm ? ` ${SDK_LOAD_NOTE}` : '';
  return [
    {
      measure: `Bundle size, ${ours.path}`,
      ours: bytesCell(ours.bytes),
      baseline: sdk ? bytesCell(sdk.bytes) : NA,
      compared: sdk ? smaller(ours.bytes, sdk.bytes) : NA,
      baselineIs,
    },
    {
      measure: 'Bundle size, gzipped',
      ours: bytesCell(ours.gzipBytes),
      baseline: sdk ? bytesCell(sdk.gzipBytes) : NA,
      compared: sdk ? smaller(ours.gzipBytes, sdk.gzipBytes) : NA,
      baselineIs,
    },
    {
      measure: `Cold load in a fresh VM context, median of ${load.runs}`,
      ours: formatMs(load.ours.medianMs),
      baseline: load.sdk ? formatMs(load.sdk.medianMs) + loadNote : NA,
      compared: load.sdk ? quicker(load.ours.medianMs, load.sdk.medianMs) : NA,
      baselineIs,
    },
  ];
}

/** Compares durations: lower is better. */
function quicker(ours: number, baseline: number): string {
  return compare({ ours, baseline, lowerIsBetter: true, better: 'faster', worse: 'slower' }).text;
}

/** Compares rates: higher is better. */
function faster(ours: number, baseline: number): string {
  return compare({ ours, baseline, lowerIsBetter: false, better: 'faster', worse: 'slower' }).text;
}

function verificationRows(results: BotResults): Row[] {
  const { sample, sampleBytes, ours, sdk, oursParsed } = results.verification;
  const rows: Row[] = [
    {
      measure: `Verifications per second, ${sample}${sampleBytes ? ` (${formatBytes(sampleBytes)}), raw body` : ''}`,
      ours: formatInteger(ours.perSecond),
      baseline: sdk ? formatInteger(sdk.perSecond) : NA,
      compared: sdk ? faster(ours.perSecond, sdk.perSecond) : NA,
      baselineIs: sdk ? `the SDK's \`${sdk.label}\`` : NO_SDK,
    },
  ];
  if (oursParsed) {
    rows.push({
      measure: 'Verifications per second, body parsed by `$execute` (re-serialised)',
      ours: formatInteger(oursParsed.perSecond),
      baseline: formatInteger(ours.perSecond),
      compared: faster(oursParsed.perSecond, ours.perSecond),
      baselineIs: 'ours on the raw body (the SDK takes raw bodies only)',
    });
  }
  return rows;
}

type Run = BotResults['endToEnd']['bot'];

function fewer(ours: number, baseline: number): string {
  return compare({ ours, baseline, lowerIsBetter: true, better: 'fewer', worse: 'more' }).text;
}

function throughputRows({ bot, naive }: BotResults['endToEnd'], baselineIs: string): Row[] {
  const rows: Row[] = [
    {
      measure: 'Events per second end to end, handler + MockClient',
      ours: formatInteger(bot.eventsPerSecond),
      baseline: formatInteger(naive.eventsPerSecond),
      compared: faster(bot.eventsPerSecond, naive.eventsPerSecond),
      baselineIs,
    },
    {
      measure: 'FHIR requests per event (counted)',
      ours: bot.requests.perEvent.toFixed(2),
      baseline: naive.requests.perEvent.toFixed(2),
      compared: fewer(bot.requests.perEvent, naive.requests.perEvent),
      baselineIs,
    },
  ];
  const [oursSearches, naiveSearches] = [bot.requests.storeSearchesPerEvent, naive.requests.storeSearchesPerEvent];
  if (oursSearches !== undefined && naiveSearches !== undefined) {
    rows.push({
      measure: `MockClient store scans per event ${EXPLAINED}`,
      ours: oursSearches.toFixed(2),
      baseline: naiveSearches.toFixed(2),
      compared: fewer(oursSearches, naiveSearches),
      baselineIs,
    });
  }
  return rows;
}

function memoryRows({ bot, naive, setName }: BotResults['endToEnd'], baselineIs: string): Row[] {
  const above = (run: Run, bytes: number): string =>
    `${formatBytes(bytes)} (+${formatBytes(bytes - run.heap.baselineBytes)})`;
  const live = (run: Run): number => run.heap.peakLiveBytes - run.heap.baselineBytes;
  const wrong = ({ check }: Run): string => `${formatInteger(check.setsWrong)} of ${formatInteger(check.setsChecked)}`;
  return [
    {
      measure: `Peak heap over ${formatInteger(bot.events)} events, sampled after each (+ over start) ${GC_TIMING}`,
      ours: above(bot, bot.heap.peakBytes),
      baseline: above(naive, naive.heap.peakBytes),
      compared: NA,
      baselineIs,
    },
    {
      measure: 'Peak live heap, after a forced GC every 10 sets (+ over start)',
      ours: above(bot, bot.heap.peakLiveBytes),
      baseline: above(naive, naive.heap.peakLiveBytes),
      compared: compare({ ours: live(bot), baseline: live(naive), lowerIsBetter: true, better: 'less', worse: 'more' })
        .text,
      baselineIs,
    },
    {
      measure: `${capitalise(setName)}s whose records end wrong (checked)`,
      ours: wrong(bot),
      baseline: wrong(naive),
      compared: NA,
      baselineIs,
    },
  ];
}

function endToEndRows(results: BotResults): Row[] {
  const baselineIs = 'naive search-then-write, same mapping (benchmark only)';
  return [...throughputRows(results.endToEnd, baselineIs), ...memoryRows(results.endToEnd, baselineIs)];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function markdownTable(rows: readonly Row[]): string {
  const header: Row = {
    measure: 'Measure',
    ours: 'This repo',
    baseline: 'Baseline',
    compared: 'This repo is',
    baselineIs: 'Baseline is',
  };
  const keys = ['measure', 'ours', 'baseline', 'compared', 'baselineIs'] as const;
  const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)));
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  // Figures are right-aligned, in the Markdown and in the padding alike.
  const numeric = (key: (typeof keys)[number]): boolean => key === 'ours' || key === 'baseline';
  const cells = (row: Row): string[] =>
    keys.map((key, i) => (numeric(key) ? row[key].padStart(widths[i]) : row[key].padEnd(widths[i])));
  const rule = keys.map((key, i) => (numeric(key) ? '-'.repeat(widths[i] - 1) + ':' : '-'.repeat(widths[i])));
  const head = keys.map((key, i) => header[key].padEnd(widths[i]));
  return [line(head), line(rule), ...rows.map((row) => line(cells(row)))].join('\n');
}

function notes(results: BotResults): string[] {
  const { endToEnd } = results;
  const lines = [
    `Each ${endToEnd.setName} gets: ${endToEnd.mix}; ids are fresh for every ${endToEnd.setName}, ` +
      `and a fresh MockClient store starts every ${endToEnd.setsPerStore} ${endToEnd.setName}s.`,
  ];
  const failure = results.coldLoad.sdk?.failsInMedplumVm;
  if (failure) {
    lines.push(
      `${SDK_LOAD_NOTE} The SDK build does not load in Medplum's VM context ("${failure}"); it was timed with ` +
        "Node's `process`, `Buffer` and timers added, as Medplum's Lambda runtime has them."
    );
  }
  if (results.endToEnd.bot.requests.storeSearchesPerEvent !== undefined) {
    lines.push(
      `${EXPLAINED} MockClient answers every search, and twice every conditional create in a transaction, by ` +
        'scanning all stored resources of the type; that is where its time goes, and why it favours the naive ' +
        'pattern. A FHIR server looks identifiers up in an index and charges a network round trip per request.'
    );
  }
  lines.push(
    `${GC_TIMING} Includes garbage not yet collected, so it follows the garbage collector's timing; the live ` +
      'heap row is the one to compare. Most of either is the MockClient store, not the bot.'
  );
  if (results.noSdkReason) {
    lines.push(`No SDK columns: ${results.noSdkReason}`);
  }
  return lines;
}

/** Wraps prose at the README's width; each paragraph stays a Markdown paragraph of its own. */
function paragraph(text: string, width = 110): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) {
      lines[last] += ' ' + word;
    } else {
      lines.push(word);
    }
  }
  return lines.join('\n');
}

export function renderBot(results: BotResults): string {
  const rows = [...bundleRows(results), ...verificationRows(results), ...endToEndRows(results)];
  const heading = `### ${results.vendor} (\`${results.source}\`)`;
  return [heading, markdownTable(rows), ...notes(results).map((note) => paragraph(note))].join('\n\n');
}

export function renderRun(run: RunInfo, bots: readonly BotResults[]): string {
  const { machine } = run;
  const heading =
    `Measured ${run.startedAt.slice(0, 10)} on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}, ` +
    `commit ${machine.commit}; one-minute load average ${run.loadAverageAtStart.toFixed(2)} at the start; ` +
    `${Math.round(run.durationSeconds)} s in all${run.quick ? '; --quick counts, not figures to quote' : ''}.`;
  return [paragraph(heading), ...bots.map(renderBot)].join('\n\n') + '\n';
}

/** The run and results of a JSON file this script wrote, to print its table again. */
export function readResultsJson(text: string): { run: RunInfo; bots: BotResults[] } {
  const parsed = JSON.parse(text) as RunInfo & { schema?: string; bots?: BotResults[] };
  if (parsed.schema !== RESULTS_SCHEMA || !Array.isArray(parsed.bots)) {
    throw new Error(`Not a results file of this benchmark (schema ${RESULTS_SCHEMA}); run npm run bench to make one.`);
  }
  const { machine, startedAt, durationSeconds, loadAverageAtStart, quick } = parsed;
  return { run: { machine, startedAt, durationSeconds, loadAverageAtStart, quick }, bots: parsed.bots };
}

export function resultsJson(run: RunInfo, options: object, bots: readonly BotResults[]): string {
  return JSON.stringify({ schema: RESULTS_SCHEMA, ...run, options, bots }, null, 2) + '\n';
}

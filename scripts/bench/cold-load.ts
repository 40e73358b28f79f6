// Cold load: how long Medplum's VM-context runtime takes to evaluate a bot's bundle before it can call the
// handler. Each run compiles and evaluates the module code in a fresh node:vm context, as the runtime does
// for every execution; the file is already in memory, so disk reads are not part of it.
import vm from 'node:vm';
import { sandboxGlobals } from '../lib/vm-context.ts';
import { median } from './stats.ts';

/** What a plain Node process (Medplum's Lambda runtime) has besides: some SDKs need them just to load. */
function nodeExtras(): Record<string, unknown> {
  return { process, Buffer, setTimeout, clearTimeout, setInterval, clearInterval };
}

export interface LoadTimes {
  readonly medianMs: number;
  readonly runsMs: number[];
  /** Set when the bundle cannot load with Medplum's VM globals alone; it was then timed with Node's. */
  readonly failsInMedplumVm?: string;
}

/** Compiles and evaluates the bundle once in a fresh context; returns the milliseconds it took. */
function loadOnce(code: string, globals: Record<string, unknown>, run: number): number {
  const context = vm.createContext({ ...globals, __handlerType: undefined });
  // The comment makes each run's source unique, so V8's in-memory compilation cache cannot make it warm.
  const wrapped = [
    'const exports = {}; const module = { exports };',
    code,
    ';__handlerType = typeof exports.handler;',
    `// run ${run}`,
  ].join('\n');
  const start = performance.now();
  new vm.Script(wrapped, { filename: 'bot.js' }).runInContext(context);
  const elapsed = performance.now() - start;
  if (context.__handlerType !== 'function') {
    throw new Error('The bundle loaded but exports no handler function; check the VM-context footer.');
  }
  return elapsed;
}

/** The globals a bundle loads with: Medplum's if it can, else Medplum's plus Node's (and why). */
function globalsFor(code: string): { globals: Record<string, unknown>; failure?: string } {
  try {
    loadOnce(code, sandboxGlobals(), -1);
    return { globals: sandboxGlobals() };
  } catch (err) {
    return { globals: { ...sandboxGlobals(), ...nodeExtras() }, failure: String((err as Error).message ?? err) };
  }
}

/**
 * Times `runs` cold loads of each bundle, alternating between them so both see the same machine state, and
 * returns the median of each. The first bundle must load in Medplum's VM context.
 */
export function measureColdLoads(bundles: readonly string[], runs: number): LoadTimes[] {
  const setups = bundles.map(globalsFor);
  if (setups[0]?.failure) {
    throw new Error(`The bot's bundle does not load in Medplum's VM context: ${setups[0].failure}`);
  }
  const times: number[][] = bundles.map(() => []);
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? bundles.keys() : [...bundles.keys()].reverse();
    for (const index of order) {
      times[index].push(loadOnce(bundles[index], setups[index].globals, run));
    }
  }
  return times.map((runsMs, index) => ({
    medianMs: median(runsMs),
    runsMs,
    ...(setups[index].failure ? { failsInMedplumVm: setups[index].failure } : {}),
  }));
}

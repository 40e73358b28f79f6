// Verification throughput: how many deliveries per second a verifier checks, measured in rounds that
// alternate between the verifiers so each sees the same machine state, the median round counting.
import type { VerifierCase } from './profiles/types.ts';
import { median } from './stats.ts';

export interface RateOptions {
  /** Verifications per round, the same for every verifier. */
  readonly iterations: number;
  readonly rounds: number;
}

export interface Rate {
  readonly label: string;
  /** Median over the rounds, in verifications per second. */
  readonly perSecond: number;
  readonly roundsPerSecond: number[];
}

async function timeRound(verifier: VerifierCase, iterations: number): Promise<number> {
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    // A verifier that must go through an async handler is awaited; a synchronous one is not slowed by it.
    const returned = verifier.run();
    const result = returned instanceof Promise ? await returned : returned;
    // Using the result keeps the JIT from dropping the call; a refusal throws and fails the benchmark.
    sink += result === undefined ? 0 : 1;
  }
  const seconds = (performance.now() - start) / 1000;
  if (sink !== iterations) {
    throw new Error(`${verifier.label} returned nothing; it must return what it verified.`);
  }
  return iterations / seconds;
}

export async function measureRates(verifiers: readonly VerifierCase[], options: RateOptions): Promise<Rate[]> {
  for (const verifier of verifiers) {
    await timeRound(verifier, Math.ceil(options.iterations / 10)); // warm-up: JIT and caches, not measured
  }
  const rates: number[][] = verifiers.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (let offset = 0; offset < verifiers.length; offset++) {
      const index = (round + offset) % verifiers.length;
      rates[index].push(await timeRound(verifiers[index], options.iterations));
    }
  }
  return verifiers.map((verifier, index) => ({
    label: verifier.label,
    perSecond: median(rates[index]),
    roundsPerSecond: rates[index],
  }));
}

// Small numeric helpers shared by the measurements and the table.

export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new Error('median of no values: a measurement ran zero times.');
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `1234567` -> `1,234,567`. */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

export interface Comparison {
  /** ours / baseline. */
  readonly ratio: number;
  /** `"12.3x smaller"`, `"1.4x slower"`: how ours compares, in words that say which way is better. */
  readonly text: string;
}

/**
 * Compares ours with a baseline. `better` and `worse` name the two directions (smaller/larger,
 * faster/slower); `lowerIsBetter` says which one a lower value of the measure is.
 */
export function compare(options: {
  readonly ours: number;
  readonly baseline: number;
  readonly lowerIsBetter: boolean;
  readonly better: string;
  readonly worse: string;
}): Comparison {
  const { ours, baseline, lowerIsBetter, better, worse } = options;
  const ratio = ours / baseline;
  const advantage = lowerIsBetter ? baseline / ours : ours / baseline;
  if (!Number.isFinite(advantage) || advantage <= 0) {
    return { ratio, text: 'n/a' };
  }
  if (Math.abs(advantage - 1) < 0.05) {
    return { ratio, text: 'about the same' };
  }
  const factor = advantage >= 1 ? advantage : 1 / advantage;
  return { ratio, text: `${factor >= 10 ? factor.toFixed(0) : factor.toFixed(1)}x ${advantage >= 1 ? better : worse}` };
}

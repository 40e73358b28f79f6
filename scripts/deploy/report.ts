// What deploy did (or, with --dry-run, would do) to each object: printed as each step ends and
// again as a summary at the end.

export type Outcome = 'created' | 'updated' | 'unchanged' | 'warning' | 'failed' | 'skipped';

export interface StepResult {
  readonly outcome: Outcome;
  /** What the object is, or what changed: "AccessPolicy/123 \"Stripe webhook bot\"". */
  readonly detail: string;
  /** Further lines to print under the step: instructions, lists. */
  readonly notes?: readonly string[];
}

export interface Row extends StepResult {
  /** A bot's name, or "project". */
  readonly subject: string;
  /** The step: "AccessPolicy", "Bot", ... */
  readonly object: string;
}

export type Log = (line: string) => void;

export class Report {
  readonly rows: Row[] = [];
  readonly dryRun: boolean;

  constructor(dryRun: boolean) {
    this.dryRun = dryRun;
  }

  add(row: Row): void {
    this.rows.push(row);
  }

  get failed(): boolean {
    return this.rows.some((row) => row.outcome === 'failed');
  }

  /** How an outcome reads in this run: a dry run only plans. */
  label(outcome: Outcome): string {
    if (this.dryRun && (outcome === 'created' || outcome === 'updated')) {
      return outcome === 'created' ? 'would create' : 'would update';
    }
    return outcome;
  }

  print(log: Log): void {
    log('');
    log(this.dryRun ? 'Summary (dry run: nothing was written)' : 'Summary');
    const subjectWidth = Math.max(...this.rows.map((row) => row.subject.length));
    const objectWidth = Math.max(...this.rows.map((row) => row.object.length));
    for (const row of this.rows) {
      const subject = row.subject.padEnd(subjectWidth);
      const object = row.object.padEnd(objectWidth);
      log(`  ${subject}  ${object}  ${this.label(row.outcome).padEnd(14)}${row.detail}`.trimEnd());
    }
    log(`  ${this.totals()}`);
  }

  private totals(): string {
    const order: Outcome[] = ['created', 'updated', 'unchanged', 'warning', 'failed', 'skipped'];
    const parts: string[] = [];
    for (const outcome of order) {
      const count = this.rows.filter((row) => row.outcome === outcome).length;
      if (count > 0) {
        parts.push(`${count} ${this.label(outcome)}${outcome === 'warning' && count > 1 ? 's' : ''}`);
      }
    }
    return parts.join(', ');
  }
}

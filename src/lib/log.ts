import type { PlanResult } from './fhir-sync.ts';

/**
 * One line per decision, written to the bot's console, which Medplum stores in the execution's
 * AuditEvent. Lines carry vendor ids, event types and FHIR references only: never a secret, a
 * signature, a header or a field of the payload, any of which may identify a patient.
 */
export interface Decision {
  readonly source: string;
  readonly eventId?: string;
  readonly eventType?: string;
  /** What the bot decided, in a word or two: written, unchanged, ignored, rejected, failed... */
  readonly outcome: string;
  /** Why, when the outcome alone does not say it. Must not contain payload data. */
  readonly reason?: string;
}

export function logDecision(decision: Decision, log: (line: string) => void = console.log): void {
  const { source, eventId, eventType, outcome, reason } = decision;
  const subject = [eventId, eventType].filter(Boolean).join(' ');
  log(`[${source}] ${subject ? subject + ': ' : ''}${outcome}${reason ? ' - ' + reason : ''}`);
}

/** Summarises what a sync did to each resource, for the decision line: `Invoice/1 updated, Account/2 unchanged`. */
export function describeResults(result: PlanResult): string {
  return result.resources.map((resource) => `${resource.reference} ${resource.outcome}`).join(', ');
}

/** The single word for a synced event: written if anything changed, otherwise why not. */
export function overallOutcome(result: PlanResult): string {
  const outcomes = new Set(result.resources.map((resource) => resource.outcome));
  if (outcomes.has('created') || outcomes.has('updated')) {
    return 'written';
  }
  if (outcomes.has('stale')) {
    return 'stale';
  }
  return 'unchanged';
}

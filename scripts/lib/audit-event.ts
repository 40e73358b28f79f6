// The AuditEvent Medplum writes after every bot execution: type `execute`, outcome 0 (success) or 4 (minor
// failure), and the bot's console output as `outcomeDesc`, cut to its last 10 KiB. It is how people see
// what a bot did.
import type { AuditEvent, Bot, Reference } from '@medplum/fhirtypes';

/** Medplum keeps the last 10 KiB of a bot's console output. */
export const MAX_OUTCOME_DESC_CHARS = 10 * 1024;

export interface ExecutionRecord {
  readonly bot: Reference<Bot>;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly success: boolean;
  readonly log: string;
}

export function executionAuditEvent({ bot, startedAt, finishedAt, success, log }: ExecutionRecord): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    type: { code: 'execute' },
    period: { start: startedAt.toISOString(), end: finishedAt.toISOString() },
    recorded: finishedAt.toISOString(),
    agent: [{ type: { text: 'bot' }, requestor: false }],
    source: { observer: bot },
    entity: [{ what: bot }],
    outcome: success ? '0' : '4',
    outcomeDesc: log.length > MAX_OUTCOME_DESC_CHARS ? log.slice(log.length - MAX_OUTCOME_DESC_CHARS) : log,
  };
}

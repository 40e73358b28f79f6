import type { BotEvent } from '@medplum/core';
import { WebhookError } from './errors.ts';
import { logDecision } from './log.ts';

/** Reads a request header by name. Medplum passes every header with a lower-case name. */
export function readHeader(event: BotEvent, name: string): string | undefined {
  const value = (event.headers as Record<string, string | string[] | undefined> | undefined)?.[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

/** What a bot knows about the delivery so far; it fills this in once the event is verified and parsed. */
export interface DeliveryContext {
  eventId?: string;
  eventType?: string;
}

/**
 * Runs a bot's work and, when it fails, logs the one decision line for the failure before rethrowing,
 * so the vendor sees a non-2xx answer and retries. The line names the event once the bot has verified
 * it. Unexpected errors are logged by type only: their message could quote the payload.
 */
export async function logFailures<T>(source: string, work: (context: DeliveryContext) => Promise<T>): Promise<T> {
  const context: DeliveryContext = {};
  try {
    return await work(context);
  } catch (err) {
    const known = err instanceof WebhookError;
    logDecision({
      source,
      eventId: context.eventId,
      eventType: context.eventType,
      outcome: known && err.retryable ? 'failed, will be retried' : 'rejected',
      reason: known ? `${err.name}: ${err.message}` : `unexpected ${errorType(err)}`,
    });
    throw err;
  }
}

function errorType(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

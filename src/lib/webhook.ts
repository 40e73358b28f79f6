import type { BotEvent } from '@medplum/core';
import { WebhookError } from './errors.ts';
import { logDecision } from './log.ts';

/** Reads a request header by name. Medplum passes every header with a lower-case name. */
export function readHeader(event: BotEvent, name: string): string | undefined {
  const value = (event.headers as Record<string, string | string[] | undefined> | undefined)?.[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Runs a bot's work and, when it fails, logs the one decision line for the failure before rethrowing,
 * so the vendor sees a non-2xx answer and retries. Unexpected errors are logged by type only: their
 * message could quote the payload.
 */
export async function logFailures<T>(source: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const reason = err instanceof WebhookError ? `${err.name}: ${err.message}` : `unexpected ${errorType(err)}`;
    logDecision({ source, outcome: 'rejected', reason });
    throw err;
  }
}

function errorType(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

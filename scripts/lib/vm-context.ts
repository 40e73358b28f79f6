// Runs a built bot bundle the way Medplum's VM-context runtime does (verified on Medplum 5.0.10): the
// bundle is wrapped as `const exports = {}; const module = { exports }; <bundle>` and evaluated in a fresh
// node:vm context whose only globals are the ones below. No Buffer, process, setTimeout or crypto.
import { ContentType, Hl7Message, MedplumClient } from '@medplum/core';
import type { BotEvent } from '@medplum/core';
import { createRequire } from 'node:module';
import vm from 'node:vm';

/** Medplum's default limit for one VM-context execution. */
export const VM_CONTEXT_TIMEOUT_MS = 10_000;

export interface VmExecution {
  /** The bundle's source, as in dist/<bot>.js. */
  readonly code: string;
  /** The client the bot gets: a MockClient locally, a MedplumClient on a server. */
  readonly medplum: MedplumClient;
  readonly event: BotEvent;
  /** Receives each line the bot logs (Medplum stores them in the execution's AuditEvent). */
  readonly log?: (line: string) => void;
}

/** The globals Medplum 5.0.10 puts in a VM-context bot's sandbox: nothing more. */
export function sandboxGlobals(log: (line: string) => void = () => undefined): Record<string, unknown> {
  const write = (...args: unknown[]): void => log(args.map(String).join(' '));
  return {
    console: { log: write, info: write, warn: write, error: write, debug: write },
    fetch: globalThis.fetch,
    require: createRequire(import.meta.url),
    ContentType,
    Hl7Message,
    MedplumClient,
    TextEncoder,
    TextDecoder,
    URL,
    URLSearchParams,
  };
}

/** Executes the bundle's `handler` once and returns its result; rejects with what the bot threw. */
export async function runInVmContext({ code, medplum, event, log = () => undefined }: VmExecution): Promise<unknown> {
  const sandbox = { ...sandboxGlobals(log), __medplum: medplum, __event: event };
  const wrapped = `
    const exports = {};
    const module = { exports };
    ${code}
    ;(async () => {
      try {
        return await exports.handler(__medplum, __event);
      } catch (err) {
        console.log('Unhandled error: ' + (err && err.message) + '\\n' + (err && err.stack));
        throw err;
      }
    })();
  `;
  return vm.runInNewContext(wrapped, sandbox, { timeout: VM_CONTEXT_TIMEOUT_MS, filename: 'bot.js' });
}

// Runs one bot execution as Medplum's executeBot does for a VM-context bot: load the bundle, build the
// BotEvent, run it in the sandbox, and write the execution's AuditEvent with the console output.
import type { BotEvent } from '@medplum/core';
import type { Bot, ClientApplication, ProjectSetting, Reference } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { executionAuditEvent } from './audit-event.ts';
import type { BotDefinition } from './bot-config.ts';
import { REPO_ROOT } from './bot-config.ts';
import type { StoredWrite } from './fhir-store.ts';
import { runInVmContext } from './vm-context.ts';

export interface ExecutionRequest {
  readonly bot: BotDefinition;
  readonly input: unknown;
  readonly contentType: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly secrets: Record<string, ProjectSetting>;
  /** Who called `$execute`; absent on the public webhook route. */
  readonly requester?: Reference<ClientApplication>;
}

export interface ExecutionResult {
  readonly traceId: string;
  readonly success: boolean;
  /** What the bot returned (undefined when it threw). */
  readonly returnValue?: unknown;
  /** The console output, as stored in the AuditEvent. */
  readonly log: string;
  /** Every resource version the bot stored during this execution. */
  readonly writes: readonly StoredWrite[];
  readonly auditEvent: string;
}

/** The execution a write belongs to, so concurrent requests each see only their own writes. */
const currentExecution = new AsyncLocalStorage<StoredWrite[]>();

/** Hand this to the store's `onWrite` hook: it files each write under the execution that made it. */
export function attributeWrite(write: StoredWrite): void {
  currentExecution.getStore()?.push(write);
}

export interface ExecutorContext {
  readonly medplum: MockClient;
  /** Receives each console line as the bot writes it (for `npm start`'s terminal). */
  readonly echo?: (botName: string, line: string) => void;
}

export async function executeBot(context: ExecutorContext, request: ExecutionRequest): Promise<ExecutionResult> {
  const { medplum, echo } = context;
  const startedAt = new Date();
  const traceId = randomUUID();
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
    echo?.(request.bot.name, line);
  };
  const writes: StoredWrite[] = [];
  const outcome = await currentExecution.run(writes, () => runBundle({ medplum, request, traceId, log }));
  const auditEvent = await medplum.createResource(
    executionAuditEvent({
      bot: botReference(request.bot),
      startedAt,
      finishedAt: new Date(),
      success: outcome.success,
      log: lines.join('\n'),
    })
  );
  return { traceId, ...outcome, log: lines.join('\n'), writes, auditEvent: `AuditEvent/${auditEvent.id}` };
}

/** The local Bot resource of a bot: its id is its name, so `Bot/{name}/$execute` is Medplum's own URL form. */
export function botReference(bot: BotDefinition): Reference<Bot> {
  return { reference: `Bot/${bot.name}`, display: bot.name };
}

interface BundleRun {
  readonly medplum: MockClient;
  readonly request: ExecutionRequest;
  readonly traceId: string;
  readonly log: (line: string) => void;
}

interface BundleOutcome {
  readonly success: boolean;
  readonly returnValue?: unknown;
}

async function runBundle({ medplum, request, traceId, log }: BundleRun): Promise<BundleOutcome> {
  const { bot } = request;
  if (!existsSync(bot.dist)) {
    log(`No executable code: ${relative(REPO_ROOT, bot.dist)} does not exist; run \`npm run build\`.`);
    return { success: false };
  }
  const event: BotEvent = {
    bot: botReference(bot),
    contentType: request.contentType,
    input: request.input,
    secrets: request.secrets,
    headers: request.headers,
    requester: request.requester,
    traceId,
  };
  try {
    const returnValue = await runInVmContext({ code: readFileSync(bot.dist, 'utf8'), medplum, event, log });
    return { success: true, returnValue };
  } catch (err) {
    // Medplum adds this line after the sandbox's own "Unhandled error" line.
    log(`Error ${(err as Error)?.message ?? String(err)}`);
    return { success: false };
  }
}

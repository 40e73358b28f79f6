// Step 3: the TypeScript source becomes the Bot's sourceCode attachment and the bundle is deployed
// with `$deploy`. Both attachments carry the SHA-1 of what they hold, so a later run with the same
// source and bundle knows there is nothing to do.
import { ContentType } from '@medplum/core';
import type { WithId } from '@medplum/core';
import type { Attachment, OperationOutcome } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { inRoot } from '../config.ts';
import type { BotState, DeployContext, DeployedBot } from '../context.ts';
import { DeployError, describeError, callMedplum } from '../errors.ts';
import type { StepResult } from '../report.ts';
import { saveBot } from './bot.ts';

/** Attachment.hash in FHIR: the base64 SHA-1 of the data. */
export function attachmentHash(data: Buffer): string {
  return createHash('sha1').update(data).digest('base64');
}

export async function deployCode(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const { entry } = state;
  const unbuilt = ctx.unbuilt.has(entry.name);
  const bundlePath = inRoot(ctx.config, entry.dist);
  if (!existsSync(bundlePath) && !unbuilt) {
    const cause = `the bundle ${entry.dist} of the bot "${entry.name}" is missing`;
    throw new DeployError(cause, 'run `npm run build`.');
  }
  const source = readFileSync(inRoot(ctx.config, entry.source));
  const bundle = unbuilt ? undefined : readFileSync(bundlePath);
  const detail = `${entry.source} -> sourceCode, ${entry.dist} -> $deploy`;
  if (!bundle) {
    const outcome = state.bot ? 'updated' : 'created';
    return { outcome, detail: `${detail} (after rebuilding ${entry.dist})` };
  }
  const hashes = { source: attachmentHash(source), bundle: attachmentHash(bundle) };
  const bot = state.bot;
  if (bot && !state.mustDeploy && !ctx.flags.force && isDeployed(bot, hashes)) {
    const same = `${entry.dist} (${bundle.length} bytes) is the deployed bundle`;
    return { outcome: 'unchanged', detail: same };
  }
  const outcome = bot?.executableCode ? 'updated' : 'created';
  if (ctx.flags.dryRun) {
    return { outcome, detail };
  }
  if (!bot) {
    throw new DeployError(`there is no Bot "${entry.name}" to deploy to`, 'fix the Bot step above.');
  }
  const sourceCode = await uploadSource(ctx, state, source);
  await runDeployOperation(ctx, bot, bundle.toString('utf8'), basename(entry.dist));
  state.bot = await recordHashes(ctx, bot, { ...sourceCode, hash: hashes.source }, hashes.bundle);
  return { outcome, detail: `${detail} (${bundle.length} bytes)` };
}

function isDeployed(bot: DeployedBot, hashes: { source: string; bundle: string }): boolean {
  return bot.sourceCode?.hash === hashes.source && bot.executableCode?.hash === hashes.bundle;
}

/** Saves the source as a Binary; the Bot points at it once `$deploy` has succeeded. */
async function uploadSource(ctx: DeployContext, state: BotState, source: Buffer): Promise<Attachment> {
  const filename = basename(state.entry.source);
  const upload = { data: source.toString('utf8'), filename, contentType: ContentType.TYPESCRIPT };
  const binary = await callMedplum(`uploading ${state.entry.source}`, 'retry deploy.', () =>
    ctx.session.medplum.createBinary(upload)
  );
  return { contentType: ContentType.TYPESCRIPT, url: `Binary/${binary.id}`, title: filename };
}

/** `POST Bot/{id}/$deploy`: an HTTP error or an outcome with an error issue is a failure. */
async function runDeployOperation(
  ctx: DeployContext,
  bot: WithId<DeployedBot>,
  code: string,
  filename: string
): Promise<void> {
  const { medplum } = ctx.session;
  const failed = `$deploy of Bot/${bot.id} failed`;
  let outcome: OperationOutcome | undefined;
  try {
    outcome = await medplum.post(medplum.fhirUrl('Bot', bot.id, '$deploy'), { code, filename });
  } catch (err) {
    throw new DeployError(`${failed}: ${describeError(err)}`, deployFix(ctx, bot));
  }
  const problems = (outcome?.issue ?? []).filter((i) => ['error', 'fatal'].includes(i.severity));
  if (outcome?.resourceType !== 'OperationOutcome' || problems.length > 0) {
    const text = problems.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ');
    throw new DeployError(`${failed}: ${text || 'no OperationOutcome'}`, deployFix(ctx, bot));
  }
}

function deployFix(ctx: DeployContext, bot: DeployedBot): string {
  if (!ctx.features.includes('bots')) {
    return 'the project lacks the "bots" feature: the features step below says how to enable it.';
  }
  if (bot.runtimeVersion === 'awslambda') {
    return 'a server without AWS Lambda cannot run awslambda bots: deploy with --runtime=vmcontext.';
  }
  return 'vmcontext bots need a server with vmContextBotsEnabled; hosted Medplum: --runtime=awslambda.';
}

/** After `$deploy` has written executableCode: record both hashes, for the next run to compare. */
async function recordHashes(
  ctx: DeployContext,
  bot: WithId<DeployedBot>,
  sourceCode: Attachment,
  bundleHash: string
): Promise<WithId<DeployedBot>> {
  const deployed = await callMedplum(`reading Bot/${bot.id}`, 'retry deploy.', () =>
    ctx.session.medplum.readResource('Bot', bot.id)
  );
  if (!deployed.executableCode) {
    const cause = `$deploy answered OK but Bot/${bot.id} has no executableCode`;
    throw new DeployError(cause, 'run deploy again with --force.');
  }
  const executableCode = { ...deployed.executableCode, hash: bundleHash };
  return saveBot(ctx, { ...deployed, sourceCode, executableCode });
}

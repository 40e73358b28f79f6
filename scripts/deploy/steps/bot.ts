// Step 2: the Bot, created through the project admin API with a membership that carries the bot's
// AccessPolicy, and found again on later runs by an identifier deploy puts on it.
import { createReference } from '@medplum/core';
import type { WithId } from '@medplum/core';
import type { AccessPolicy, Identifier, ProjectMembership, Reference } from '@medplum/fhirtypes';
import type { BotState, DeployContext, DeployedBot } from '../context.ts';
import { BOT_IDENTIFIER_SYSTEM } from '../context.ts';
import { DeployError, callMedplum } from '../errors.ts';
import { createBot, findMembership, findUnique, updateMembership } from '../medplum.ts';
import type { StepResult } from '../report.ts';

/** Step 2: the Bot exists, with our identifier, name, description and runtime. */
export async function ensureBot(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const found = await findBot(ctx, state);
  if (!found) {
    return createNewBot(ctx, state);
  }
  const wanted = desiredBot(found, state);
  const changes = changedFields(found, wanted);
  state.bot = found;
  state.mustDeploy = found.runtimeVersion !== wanted.runtimeVersion;
  const detail = `Bot/${found.id} "${state.entry.name}" (${state.runtime})`;
  if (changes.length === 0) {
    return { outcome: 'unchanged', detail };
  }
  if (!ctx.flags.dryRun) {
    state.bot = await saveBot(ctx, wanted);
  }
  return { outcome: 'updated', detail: `${detail}: ${changes.join(', ')}` };
}

/** Step 2b: the Bot's ProjectMembership carries the bot's AccessPolicy, and only it. */
export async function ensureBotMembership(ctx: DeployContext, state: BotState): Promise<StepResult> {
  if (!state.bot) {
    const detail = `with the Bot, carrying AccessPolicy "${state.entry.accessPolicy.name}"`;
    return { outcome: 'created', detail };
  }
  const membership = await findMembership(ctx.session, createReference(state.bot));
  const policy = state.policy && createReference(state.policy);
  const result = await ensureMembershipPolicy(ctx, membership, policy);
  state.botMembership = result.membership;
  const justCreated = state.botCreated && result.outcome === 'unchanged';
  return justCreated ? { ...result, outcome: 'created' } : result;
}

/** Makes a membership carry exactly this AccessPolicy (the Bot's, and the webhook client's). */
export async function ensureMembershipPolicy(
  ctx: DeployContext,
  membership: WithId<ProjectMembership>,
  policy: Reference<AccessPolicy> | undefined
): Promise<StepResult & { membership: WithId<ProjectMembership> }> {
  const detail = `ProjectMembership/${membership.id}`;
  const carries = policy && membership.accessPolicy?.reference === policy.reference;
  if (carries && !membership.access?.length) {
    return { membership, outcome: 'unchanged', detail: `${detail} carries ${policy.reference}` };
  }
  const from = membership.accessPolicy?.reference ?? 'no AccessPolicy';
  const change = `${detail}: ${from} -> ${policy?.reference ?? 'the new AccessPolicy'}`;
  if (ctx.flags.dryRun || !policy) {
    return { membership, outcome: 'updated', detail: change };
  }
  // Policies in `access` would add to ours: the membership gets exactly the one deploy manages.
  const { access: _access, ...rest } = membership;
  const updated = await updateMembership(ctx.session, { ...rest, accessPolicy: policy });
  return { membership: updated, outcome: 'updated', detail: change };
}

/**
 * By our identifier; else the one Bot of exactly this name without it (made by hand, or by a run
 * that stopped between creating the Bot and tagging it), which deploy adopts, not duplicates.
 */
async function findBot(ctx: DeployContext, state: BotState): Promise<WithId<DeployedBot> | undefined> {
  const { session } = ctx;
  const name = state.entry.name;
  const identifier = `${BOT_IDENTIFIER_SYSTEM}|${name}`;
  const tagged = await findUnique(session, 'Bot', { identifier });
  if (tagged) {
    return tagged;
  }
  return findUnique(
    session,
    'Bot',
    { name },
    (bot) => bot.name === name && !bot.identifier?.some((id) => id.system === BOT_IDENTIFIER_SYSTEM)
  );
}

async function createNewBot(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const { entry, runtime } = state;
  state.mustDeploy = true;
  if (ctx.flags.dryRun) {
    return { outcome: 'created', detail: `Bot "${entry.name}" (${runtime})` };
  }
  if (!state.policy) {
    const cause = `the Bot "${entry.name}" needs its AccessPolicy first`;
    throw new DeployError(cause, 'fix the AccessPolicy step above.');
  }
  const created = await createBot(ctx.session, {
    name: entry.name,
    description: botDescription(state),
    runtimeVersion: runtime,
    accessPolicy: createReference(state.policy),
  });
  state.botCreated = true;
  state.bot = await saveBot(ctx, desiredBot(created, state));
  return { outcome: 'created', detail: `Bot/${created.id} "${entry.name}" (${runtime})` };
}

function desiredBot(bot: WithId<DeployedBot>, state: BotState): WithId<DeployedBot> {
  const ours: Identifier = { system: BOT_IDENTIFIER_SYSTEM, value: state.entry.name };
  const others = (bot.identifier ?? []).filter((id) => id.system !== BOT_IDENTIFIER_SYSTEM);
  return {
    ...bot,
    name: state.entry.name,
    description: botDescription(state),
    identifier: [...others, ours],
    runtimeVersion: state.runtime,
  };
}

function botDescription(state: BotState): string {
  return `Receives ${state.entry.vendor} webhooks. Managed by npm run deploy.`;
}

/** What differs, as the output says it: "identifier", "runtime vmcontext -> awslambda". */
function changedFields(actual: DeployedBot, wanted: DeployedBot): string[] {
  const fields = ['name', 'description', 'identifier', 'runtimeVersion'] as const;
  const runtime = `runtime ${actual.runtimeVersion} -> ${wanted.runtimeVersion}`;
  return fields
    .filter((field) => JSON.stringify(actual[field]) !== JSON.stringify(wanted[field]))
    .map((field) => (field === 'runtimeVersion' ? runtime : field));
}

/** PUTs the Bot; the route step and the code step write it the same way. */
export function saveBot(ctx: DeployContext, bot: WithId<DeployedBot>): Promise<WithId<DeployedBot>> {
  const fix = 'check the message; the admin client must be allowed to write Bots.';
  return callMedplum(`updating Bot/${bot.id}`, fix, () => ctx.session.medplum.updateResource(bot));
}

// Step 4: the ClientApplication whose credentials go into the vendor's dashboard. One per webhook
// source, and its membership carries a copy of access-policies/webhook-client.json limited to this
// one Bot, so a vendor's credentials can run its own bot and read nothing else.
import { createReference } from '@medplum/core';
import type { WithId } from '@medplum/core';
import type { AccessPolicy, AccessPolicyResource, ClientApplication } from '@medplum/fhirtypes';
import type { BotState, DeployContext } from '../context.ts';
import { webhookClientName, webhookClientPolicyTag } from '../context.ts';
import { DeployError, callMedplum } from '../errors.ts';
import { createClient, findMembership, findUnique } from '../medplum.ts';
import type { StepResult } from '../report.ts';
import { ensureAccessPolicy } from './access-policy.ts';
import { ensureMembershipPolicy } from './bot.ts';

/** Step 4a: the webhook client's AccessPolicy, read-only and limited to this bot. */
export async function ensureWebhookClientPolicy(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const desired = webhookClientPolicy(ctx.config.webhookClientPolicy, state);
  const ensured = await ensureAccessPolicy(ctx, desired, webhookClientPolicyTag(state.entry.name));
  state.clientPolicy = ensured.policy;
  const limit = state.bot ? `Bot/${state.bot.id}` : 'the new Bot';
  return { ...ensured, detail: `${ensured.detail}, reads ${limit} only` };
}

/** Step 4b: the ClientApplication and the membership that carries the policy of 4a. */
export async function ensureWebhookClient(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const name = webhookClientName(state.entry.name);
  const exactly = (client: ClientApplication): boolean => client.name === name;
  const found = await findUnique(ctx.session, 'ClientApplication', { name }, exactly);
  if (!found) {
    return createWebhookClient(ctx, state, name);
  }
  state.client = found.secret ? found : await readClient(ctx, found.id);
  const membership = await findMembership(ctx.session, createReference(found));
  const policy = state.clientPolicy && createReference(state.clientPolicy);
  const result = await ensureMembershipPolicy(ctx, membership, policy);
  const detail = `ClientApplication/${found.id} "${name}", ${result.detail}`;
  return { outcome: result.outcome, detail };
}

async function createWebhookClient(ctx: DeployContext, state: BotState, name: string): Promise<StepResult> {
  if (ctx.flags.dryRun) {
    return { outcome: 'created', detail: `ClientApplication "${name}" with its membership` };
  }
  if (!state.clientPolicy) {
    const cause = `the ClientApplication "${name}" needs its AccessPolicy first`;
    throw new DeployError(cause, 'fix the step above.');
  }
  const client = await createClient(ctx.session, {
    name,
    description:
      `${state.entry.vendor} calls the ${state.entry.name} bot with these credentials. ` + 'Managed by npm run deploy.',
    accessPolicy: createReference(state.clientPolicy),
  });
  state.client = client;
  const detail = `ClientApplication/${client.id} "${name}" with its membership`;
  return { outcome: 'created', detail };
}

/** Search results may leave out the secret; a read by a project admin includes it. */
function readClient(ctx: DeployContext, id: string): Promise<WithId<ClientApplication>> {
  return callMedplum(`reading ClientApplication/${id}`, 'retry deploy.', () =>
    ctx.session.medplum.readResource('ClientApplication', id)
  );
}

/**
 * The template with every Bot rule narrowed to this Bot by id. AccessPolicy criteria are checked on
 * read, and `$execute` reads the Bot as the caller. Before the Bot exists (a dry run) the rule
 * names no id yet.
 */
export function webhookClientPolicy(template: AccessPolicy, state: BotState): AccessPolicy {
  const botId = state.bot?.id ?? 'new';
  const limit = (rule: AccessPolicyResource): AccessPolicyResource =>
    rule.resourceType === 'Bot' ? { ...rule, criteria: `Bot?_id=${botId}` } : rule;
  const resource = (template.resource ?? []).map(limit);
  return { ...template, name: `${template.name}: ${state.entry.name}`, resource };
}

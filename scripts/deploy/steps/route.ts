// Step 5: how the vendor reaches the bot. `execute` (the default): `$execute` with the webhook
// client's Basic credentials, and the public route closed. `webhook`: the unauthenticated
// `/webhook/{membership id}` route. Either way the raw body is kept where the server can: Medplum 5.2's
// `rawBody` covers `$execute` too, so a JSON signature is checked against the exact bytes the vendor
// sent; Medplum 5.0's `webhookRawBodyEnabled` covers only the public route.
import { OperationOutcomeError } from '@medplum/core';
import type { WithId } from '@medplum/core';
import type { BotState, DeployContext, DeployedBot } from '../context.ts';
import type { StepResult } from '../report.ts';
import { saveBot } from './bot.ts';

export async function ensureRoute(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const { bot, route } = state;
  const publicWebhook = route === 'webhook';
  if (!bot) {
    return { outcome: 'created', detail: describeRoute(publicWebhook) };
  }
  const isPublic = bot.publicWebhook === true;
  const hasRawBody = bot.rawBody === true || bot.webhookRawBodyEnabled === true;
  // On Medplum 5.0 `$execute` always parses; `webhookRawBodyEnabled` present (even false) records that.
  const rawBodyAsPossible = bot.rawBody === true || 'webhookRawBodyEnabled' in bot;
  const satisfied = publicWebhook ? isPublic && hasRawBody : !isPublic && rawBodyAsPossible;
  if (satisfied) {
    const outcome = state.botCreated ? 'created' : 'unchanged';
    return { outcome, detail: describeRoute(publicWebhook) };
  }
  if (!ctx.flags.dryRun) {
    state.bot = await saveRoute(ctx, bot, publicWebhook);
  }
  return { outcome: 'updated', detail: describeRoute(publicWebhook) };
}

function describeRoute(publicWebhook: boolean): string {
  return publicWebhook
    ? 'public /webhook route: publicWebhook and the raw-body flag on'
    : '$execute with Basic auth, raw body where the server supports it; public /webhook route off';
}

/** Writes the route flags under the raw-body name this server knows (see DeployedBot). */
async function saveRoute(
  ctx: DeployContext,
  bot: WithId<DeployedBot>,
  publicWebhook: boolean
): Promise<WithId<DeployedBot>> {
  const { webhookRawBodyEnabled: legacy, ...rest } = bot;
  try {
    return await saveBot(ctx, { ...rest, publicWebhook, rawBody: true });
  } catch (err) {
    if (!refusesRawBody(err)) {
      throw err;
    }
    // Medplum 5.0: the flag is `webhookRawBodyEnabled`, and only the public route honours it.
    const { rawBody: _current, ...older } = rest;
    const webhookRawBodyEnabled = publicWebhook || legacy === true;
    return saveBot(ctx, { ...older, publicWebhook, webhookRawBodyEnabled });
  }
}

/** True when the server rejected `rawBody` as a property it does not know (Medplum 5.0). */
function refusesRawBody(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  const issues = cause instanceof OperationOutcomeError ? (cause.outcome.issue ?? []) : [];
  return issues.some(
    (issue) => issue.expression?.includes('Bot.rawBody') || issue.details?.text?.includes('"rawBody"')
  );
}

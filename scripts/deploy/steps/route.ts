// Step 5: how the vendor reaches the bot. `execute` (the default): `$execute` with the webhook
// client's Basic credentials, and the public route closed. `webhook`: the unauthenticated
// `/webhook/{membership id}` route, with the raw body kept so a JSON signature is checked against
// the exact bytes the vendor sent.
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
  const satisfied = publicWebhook ? isPublic && hasRawBody : !isPublic;
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
    : '$execute with Basic auth; public /webhook route off';
}

/** Writes the route flags under the raw-body name this server knows (see DeployedBot). */
async function saveRoute(
  ctx: DeployContext,
  bot: WithId<DeployedBot>,
  publicWebhook: boolean
): Promise<WithId<DeployedBot>> {
  if (!publicWebhook) {
    return saveBot(ctx, { ...bot, publicWebhook: false });
  }
  const { webhookRawBodyEnabled: _legacy, ...rest } = bot;
  try {
    return await saveBot(ctx, { ...rest, publicWebhook: true, rawBody: true });
  } catch (err) {
    if (!refusesRawBody(err)) {
      throw err;
    }
    const { rawBody: _current, ...older } = rest;
    return saveBot(ctx, { ...older, publicWebhook: true, webhookRawBodyEnabled: true });
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

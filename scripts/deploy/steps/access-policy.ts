// Step 1 (and half of step 4): an AccessPolicy from access-policies/, created once and then kept
// equal to the file. Found again by a tag deploy sets on it, so renaming the policy in its file
// does not duplicate it.
import type { WithId } from '@medplum/core';
import type { AccessPolicy, Coding } from '@medplum/fhirtypes';
import type { BotState, DeployContext } from '../context.ts';
import { botPolicyTag } from '../context.ts';
import { callMedplum } from '../errors.ts';
import { findUnique } from '../medplum.ts';
import type { StepResult } from '../report.ts';
import { sameContent } from './compare.ts';

const POLICY_FIX = 'check the policy file against the message.';

export interface EnsuredPolicy extends StepResult {
  readonly policy?: WithId<AccessPolicy>;
}

/** Step 1: the AccessPolicy on the bot's own membership: what the bot may read and write. */
export async function ensureBotPolicy(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const { entry } = state;
  const ensured = await ensureAccessPolicy(ctx, entry.accessPolicy, botPolicyTag(entry.name));
  state.policy = ensured.policy;
  return { ...ensured, detail: `${ensured.detail} from ${entry.accessPolicyFile}` };
}

/** Creates the policy, or brings the tagged one in line with `desired`; never makes a second. */
export async function ensureAccessPolicy(
  ctx: DeployContext,
  desired: AccessPolicy,
  tag: Coding
): Promise<EnsuredPolicy> {
  const { session, flags } = ctx;
  const existing = await findUnique(session, 'AccessPolicy', { _tag: `${tag.system}|${tag.code}` });
  const wanted: AccessPolicy = { ...desired, meta: { tag: [tag] } };
  const name = `"${desired.name}"`;
  if (!existing) {
    if (flags.dryRun) {
      return { outcome: 'created', detail: `AccessPolicy ${name}` };
    }
    const created = await callMedplum(`creating AccessPolicy ${name}`, POLICY_FIX, () =>
      session.medplum.createResource(wanted)
    );
    return { policy: created, outcome: 'created', detail: `AccessPolicy/${created.id} ${name}` };
  }
  const detail = `AccessPolicy/${existing.id} ${name}`;
  if (sameContent(existing, wanted)) {
    return { policy: existing, outcome: 'unchanged', detail };
  }
  if (flags.dryRun) {
    return { policy: existing, outcome: 'updated', detail };
  }
  const isOurs = (t: Coding): boolean => t.code === tag.code && t.system === tag.system;
  const others = (existing.meta?.tag ?? []).filter((t) => !isOurs(t));
  const meta = { ...existing.meta, tag: [...others, tag] };
  const updated = await callMedplum(`updating ${detail}`, POLICY_FIX, () =>
    session.medplum.updateResource({ ...wanted, id: existing.id, meta })
  );
  return { policy: updated, outcome: 'updated', detail };
}

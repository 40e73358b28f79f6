// Step 6: the project secrets a bot reads. Without --set-secrets, deploy only checks them and says
// how to set the missing ones (a vendor often shows its signing secret only once the endpoint
// exists, so a missing secret on the first run is a warning, not a failure). With --set-secrets it
// copies them from environment variables of the same name. Medplum's secrets endpoint replaces the
// whole list, so deploy reads the list right before writing and writes it back whole: a secret
// someone else set stays.
import type { ProjectSetting } from '@medplum/fhirtypes';
import type { BotState, DeployContext } from '../context.ts';
import { readProjectSecrets, writeProjectSecrets } from '../medplum.ts';
import type { StepResult } from '../report.ts';

export async function ensureSecrets(ctx: DeployContext, state: BotState): Promise<StepResult> {
  const wanted = state.entry.secrets;
  if (wanted.length === 0) {
    return { outcome: 'unchanged', detail: 'this bot reads no project secrets' };
  }
  const current = await readProjectSecrets(ctx.session);
  const toSet = ctx.flags.setSecrets ? valuesToSet(ctx, wanted, current) : [];
  const setNow = (name: string): boolean => toSet.some((secret) => secret.name === name);
  const missing = wanted.filter((name) => !hasValue(current, name) && !setNow(name));
  if (toSet.length > 0 && !ctx.flags.dryRun) {
    await writeProjectSecrets(ctx.session, merge(current, toSet));
  }
  if (missing.length > 0) {
    return { outcome: 'warning', detail: `missing: ${missing.join(', ')}`, notes: howToSet(missing) };
  }
  if (toSet.length > 0) {
    const names = toSet.map((secret) => secret.name).join(', ');
    return { outcome: 'updated', detail: `set from the environment: ${names}` };
  }
  return { outcome: 'unchanged', detail: `present: ${wanted.join(', ')}` };
}

/** The declared secrets whose environment value is set and differs from the project's. */
function valuesToSet(ctx: DeployContext, wanted: readonly string[], current: ProjectSetting[]): ProjectSetting[] {
  const differs = (name: string): boolean =>
    current.find((secret) => secret.name === name)?.valueString !== ctx.env[name];
  return wanted
    .filter((name) => ctx.env[name] && differs(name))
    .map((name) => ({ name, valueString: ctx.env[name] as string }));
}

/** The current list with these values replaced or added; every other entry is kept as it is. */
export function merge(current: ProjectSetting[], updates: ProjectSetting[]): ProjectSetting[] {
  const names = new Set(updates.map((secret) => secret.name));
  return [...current.filter((secret) => !names.has(secret.name)), ...updates];
}

function hasValue(secrets: ProjectSetting[], name: string): boolean {
  const secret = secrets.find((candidate) => candidate.name === name);
  if (!secret) {
    return false;
  }
  const others = [secret.valueBoolean, secret.valueInteger, secret.valueDecimal];
  return Boolean(secret.valueString) || others.some((value) => value !== undefined);
}

function howToSet(missing: string[]): string[] {
  return [
    `the bot fails every delivery until ${missing.length > 1 ? 'they are' : 'it is'} set; either:`,
    '  in the Medplum app: Admin > Project > Secrets, add each name with its value, or',
    `  put ${missing.map((name) => `${name}=...`).join(' ')} in .env and run: ` + 'npm run deploy -- --set-secrets',
  ];
}

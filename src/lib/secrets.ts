import type { BotEvent } from '@medplum/core';
import { BotConfigurationError } from './errors.ts';

/** Suffix of the optional secret that holds the previous value during a key rotation. */
export const PREVIOUS_SECRET_SUFFIX = '_PREVIOUS';

const HOW_TO_SET = 'set it in the Medplum app under Project > Secrets, or with `npm run deploy -- --set-secrets`';

/** Reads a bot secret, or returns undefined when it is not set. */
export function readOptionalSecret(event: BotEvent, name: string): string | undefined {
  const value = event.secrets?.[name]?.valueString?.trim();
  return value ? value : undefined;
}

/** Reads a bot secret that the bot cannot work without. */
export function readRequiredSecret(event: BotEvent, name: string): string {
  const value = readOptionalSecret(event, name);
  if (value === undefined) {
    throw new BotConfigurationError(`Bot secret ${name} is not set; ${HOW_TO_SET}.`);
  }
  return value;
}

/**
 * Reads a signing secret together with its predecessor, so deliveries signed with either verify while
 * a vendor rotates keys: `NAME` holds the current value, `NAME_PREVIOUS` the old one until it expires.
 */
export function readSigningSecrets(event: BotEvent, name: string): string[] {
  const current = readRequiredSecret(event, name);
  const previous = readOptionalSecret(event, name + PREVIOUS_SECRET_SUFFIX);
  return previous && previous !== current ? [current, previous] : [current];
}

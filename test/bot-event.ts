import type { BotEvent } from '@medplum/core';
import type { ProjectSetting } from '@medplum/fhirtypes';

export interface BotEventOptions {
  /** What Medplum hands the bot: the raw string, or the object its JSON parser made of the body. */
  readonly input: unknown;
  /** Request headers; names are lower-cased as Medplum does. */
  readonly headers?: Record<string, string>;
  /** Bot secrets by name. */
  readonly secrets?: Record<string, string>;
  readonly contentType?: string;
}

/** Builds the BotEvent Medplum passes to `handler(medplum, event)` for a webhook request. */
export function botEvent({
  input,
  headers = {},
  secrets = {},
  contentType = 'application/json',
}: BotEventOptions): BotEvent {
  const settings: Record<string, ProjectSetting> = {};
  for (const [name, valueString] of Object.entries(secrets)) {
    settings[name] = { name, valueString };
  }
  const lowerCased = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return {
    bot: { reference: 'Bot/test-bot' },
    contentType,
    input,
    secrets: settings,
    headers: lowerCased,
  } as BotEvent;
}

/**
 * Reads a JSON fixture as the text the vendor sends. The files end with a newline for editors' sake;
 * vendors' bodies do not, so it is dropped.
 */
export async function readFixture(source: string, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL(`./fixtures/${source}/${name}.json`, import.meta.url), 'utf8');
  return text.replace(/\n$/, '');
}

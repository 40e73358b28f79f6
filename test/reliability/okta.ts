// The Okta bot's registration with the reliability suite: one user's life as Okta's event hook delivers
// it (single events and a batch), the static secret in a header, and the fields the bot reads.
import { FhirWriteError } from '../../src/lib/errors.ts';
import { DEFAULT_SECRET_HEADER, handler, OKTA_SECRET_NAME, OKTA_SYSTEMS, OktaWriteError } from '../../src/okta.ts';
import { readFixture } from '../bot-event.ts';
import { PERSONAL_DATA_IN_FIXTURES } from '../fixtures/personal-data.ts';
import type { BotUnderTest, ReadField, Sample } from './harness.ts';

const SECRET = 'okta-reliability-4e2a9c71b05d83f6';

/** One user's life in the order Okta published it; the batch repeats some of its events. */
const STREAM = [
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.session.start',
  'user.account.update_profile',
  'batch',
  'user.lifecycle.deactivate',
  'user.lifecycle.delete.completed',
];

async function samples(names: readonly string[]): Promise<Sample[]> {
  return Promise.all(names.map(async (name) => ({ name, body: await readFixture('okta', name) })));
}

/** Event outcomes that mean the bot wrote nothing for the event. */
const NOT_WRITTEN = new Set(['ignored', 'rejected', 'duplicate']);

const EVENT = 'data.events.*';
/** Single-event deliveries: in the batch, the other events are still written, as the bot intends. */
const SINGLE = /^user\./;
const USER = /^user\.(lifecycle|account)\./;
const LOGIN = /^user\.session\./;

/** Every field src/okta.ts reads, with the JSON types of Okta's LogEvent. */
const READ_FIELDS: ReadField[] = [
  { path: 'data', types: ['object'] },
  { path: 'data.events', types: ['array'] },
  { path: EVENT, types: ['object'], in: SINGLE },
  { path: `${EVENT}.uuid`, types: ['string'], in: SINGLE },
  { path: `${EVENT}.eventType`, types: ['string'], in: SINGLE },
  { path: `${EVENT}.published`, types: ['string'], in: SINGLE },
  { path: `${EVENT}.outcome`, types: ['object', 'null'], in: SINGLE },
  { path: `${EVENT}.outcome.result`, types: ['string'], in: SINGLE },
  // User lifecycle and profile events: the User target.
  { path: `${EVENT}.target`, types: ['array'], in: USER, mentions: /target|User/ },
  { path: `${EVENT}.target.*`, types: ['object'], in: USER, mentions: /target|User/ },
  { path: `${EVENT}.target.*.id`, types: ['string'], in: USER, mentions: /target|User/ },
  { path: `${EVENT}.target.*.type`, types: ['string'], in: USER, mentions: /target|User/ },
  { path: `${EVENT}.target.*.displayName`, types: ['string', 'null'], in: USER },
  { path: `${EVENT}.target.*.alternateId`, types: ['string', 'null'], in: USER },
  // Logins: the actor, the client's address and the message.
  { path: `${EVENT}.actor`, types: ['object'], in: LOGIN, mentions: /actor/ },
  { path: `${EVENT}.actor.id`, types: ['string'], in: LOGIN, mentions: /actor/ },
  { path: `${EVENT}.actor.type`, types: ['string'], in: LOGIN, mentions: /actor/ },
  { path: `${EVENT}.actor.displayName`, types: ['string', 'null'], in: LOGIN },
  { path: `${EVENT}.actor.alternateId`, types: ['string', 'null'], in: LOGIN },
  { path: `${EVENT}.displayMessage`, types: ['string', 'null'], in: LOGIN },
  { path: `${EVENT}.client`, types: ['object', 'null'], in: LOGIN },
  { path: `${EVENT}.client.ipAddress`, types: ['string', 'null'], in: LOGIN },
];

export const oktaBot: BotUnderTest = {
  name: 'okta',
  handler: (medplum, event) => handler(medplum, event),
  samples: await samples(STREAM),
  ignoredSamples: [],
  isIgnored: (result) => {
    const events = (result as { events?: { outcome?: string }[] } | undefined)?.events;
    return Array.isArray(events) && events.every((event) => NOT_WRITTEN.has(event.outcome ?? ''));
  },
  sign: (body) => ({ headers: { [DEFAULT_SECRET_HEADER]: SECRET }, body, contentType: 'application/json' }),
  secrets: { [OKTA_SECRET_NAME]: SECRET },
  bodyIsSigned: false,
  credentialHeaders: [DEFAULT_SECRET_HEADER],
  // Okta does not redeliver after an error; the bot retries a lost race once itself, then gives up.
  isRetryableFailure: (error) => error instanceof FhirWriteError || error instanceof OktaWriteError,
  ownWriteRetries: 1,
  resourceTypes: ['Practitioner', 'AuditEvent'],
  identifierSystems: [OKTA_SYSTEMS.user],
  tagSystems: [OKTA_SYSTEMS.event],
  personalStrings: PERSONAL_DATA_IN_FIXTURES.okta,
  readFields: READ_FIELDS,
};

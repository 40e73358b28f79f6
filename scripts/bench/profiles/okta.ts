// Benchmark profile of the Okta bot: no SDK to compare with, the secret-header check, and a user's life in
// Okta as its event hook delivers it (with a redelivery and a late event).
import type { BotEvent, MedplumClient } from '@medplum/core';
import type { Practitioner, Resource } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import { readFileSync } from 'node:fs';
import { botEvent } from '../../../test/bot-event.ts';
import { handler, OKTA_SECRET_NAME, OKTA_SYSTEMS } from '../../../src/okta.ts';
import type { BenchProfile, ObjectSet, Scenario, VerifierCases } from './types.ts';

const SECRET = 'okta-benchmark-not-a-real-secret-4f2b8d6e';
const SECRET_HEADER = 'X-Okta-Webhook-Secret';
const FIXTURES = new URL('../../../test/fixtures/okta/', import.meta.url);

/** The user whose life the samples tell; the admin who acts on it stays the same for every user. */
const USER_ID = '00u8d2x7ywPnE4Rj15d7';
const SESSION_EVENT_UUID = '8e6f21c4-0c45-11ef-a4f1-31d9b6e2c7a3';

/** One user's life in Okta's order (published time), then a redelivered login and a late activation. */
const MIX: readonly { readonly sample: string; readonly note?: string }[] = [
  { sample: 'user.lifecycle.create' },
  { sample: 'user.lifecycle.activate' },
  { sample: 'user.session.start' },
  { sample: 'user.account.update_profile' },
  { sample: 'user.lifecycle.deactivate' },
  { sample: 'user.session.start', note: 'redelivered' },
  { sample: 'user.lifecycle.activate', note: 'redelivered late, after user.lifecycle.deactivate' },
];

const UUID = /"(uuid|eventId)": "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})-[0-9a-f]{12}"/g;

function readSample(name: string): string {
  return readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8');
}

/** The user id and event uuids of set `index`, shaped like Okta's. */
function userIdOf(index: number): string {
  return '00u' + index.toString(36).padStart(17, '0');
}

function uuidOf(uuid: string, index: number): string {
  return uuid.slice(0, 24) + index.toString(16).padStart(12, '0');
}

function withIdsOf(index: number, text: string): string {
  return text
    .replaceAll(USER_ID, userIdOf(index))
    .replace(UUID, (_match, field: string, head: string) => `"${field}": "${uuidOf(`${head}-`, index)}"`);
}

/** A delivery as `$execute` hands it over: the JSON body parsed, the secret in its header. */
function oktaEvent(input: unknown, headers: Record<string, string> = {}): BotEvent {
  return botEvent({ input, headers: { [SECRET_HEADER]: SECRET, ...headers }, secrets: { [OKTA_SECRET_NAME]: SECRET } });
}

function verifiers(): VerifierCases {
  const challenge = oktaEvent({}, { 'X-Okta-Verification-Challenge': 'bench-challenge' });
  // The verification GET touches no FHIR data, so the handler gets no client.
  const noClient = undefined as unknown as MedplumClient;
  return {
    sample: 'the verification GET (secret header, no signature)',
    ours: { label: 'handler answering the verification GET', run: () => handler(noClient, challenge) },
  };
}

function scenario(): Scenario {
  const samples = new Map(MIX.map(({ sample }) => [sample, readSample(sample)]));
  return {
    setName: 'user',
    description: MIX.map(({ sample, note }) => (note ? `${sample} (${note})` : sample)).join(', '),
    deliveries(index: number): ObjectSet {
      const events = MIX.map(({ sample }) => oktaEvent(JSON.parse(withIdsOf(index, samples.get(sample) as string))));
      return { events };
    },
    check: (medplum, index) => checkUser(medplum, index),
  };
}

/** What one user's deliveries must leave: one Practitioner, inactive and named, and one login AuditEvent. */
async function checkUser(medplum: MockClient, index: number): Promise<string[]> {
  const find = async <T extends Resource>(type: T['resourceType'], query: Record<string, string>): Promise<T[]> =>
    (await medplum.searchResources(type, query)) as unknown as T[];
  const [users, logins] = await Promise.all([
    find<Practitioner>('Practitioner', { identifier: `${OKTA_SYSTEMS.user}|${userIdOf(index)}` }),
    find('AuditEvent', { _tag: `${OKTA_SYSTEMS.event}|${uuidOf(SESSION_EVENT_UUID, index)}` }),
  ]);
  const problems: string[] = [];
  if (users.length !== 1) {
    problems.push(`${users.length} Practitioner resources instead of 1`);
  }
  if (logins.length !== 1) {
    problems.push(`${logins.length} login AuditEvents instead of 1`);
  }
  if (users[0]?.active !== false) {
    problems.push('Practitioner is active: a late activation overwrote the deactivation');
  }
  if (users[0] && !users[0].name?.length) {
    problems.push('Practitioner has no name');
  }
  return problems;
}

export const oktaProfile: BenchProfile = {
  source: 'okta',
  handler,
  noSdkReason:
    'Okta event hooks carry no signature: Okta sends a static secret in a header, which the bot compares in ' +
    "constant time. Okta's Node SDK manages the Okta API and has no event hook verifier to compare with.",
  verifiers,
  scenario,
};

import type { BotEvent } from '@medplum/core';
import type { AuditEvent, Bundle, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { runInVmContext } from '../scripts/lib/vm-context.ts';
import { PERSONAL_DATA_IN_FIXTURES } from '../test/fixtures/personal-data.ts';
import { botEvent, readFixture } from '../test/bot-event.ts';
import type { TestMedplum } from '../test/medplum.ts';
import { allOf, createTestMedplum, storedContent, versionCount, withoutServerIds } from '../test/medplum.ts';
import { SOURCE_EVENT_EXTENSION_URL } from './lib/fhir-sync.ts';
import type { OktaDeliveryResult } from './okta.ts';
import { handler, OKTA_SYSTEMS, USER_EVENT_TYPES } from './okta.ts';

/** The resource types this bot writes, for comparing whole stores. */
const PEOPLE_TYPES: Resource['resourceType'][] = ['Practitioner', 'Patient', 'AuditEvent'];
const SECRET = 'okta-hook-7c1e9a4f2b8d6e3a5c0f';
const OLD_SECRET = 'okta-hook-previous-1d4b7e0a3c6f';
const USER_ID = '00u8d2x7ywPnE4Rj15d7';
const ORG_HOST = 'dev-5550123.okta.com';
const FIXTURE_PERSONAL_DATA = PERSONAL_DATA_IN_FIXTURES.okta;

type FixtureName =
  | 'batch'
  | 'user.lifecycle.create'
  | 'user.lifecycle.activate'
  | 'user.lifecycle.deactivate'
  | 'user.lifecycle.delete.completed'
  | 'user.account.update_profile'
  | 'user.session.start';

const FIXTURES: FixtureName[] = [
  'batch',
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.lifecycle.deactivate',
  'user.lifecycle.delete.completed',
  'user.account.update_profile',
  'user.session.start',
];

/** An Okta event hook delivery: `data.events[]` holds System Log events. */
interface OktaPayload {
  source: string;
  data: { events: OktaTestEvent[] };
  [field: string]: unknown;
}

type OktaTestEvent = Record<string, any>;

interface RequestOptions {
  readonly headers?: Record<string, string>;
  readonly secrets?: Record<string, string>;
  /** `parsed object` is what `$execute` hands the bot; `raw string` the `/webhook` route with raw bodies. */
  readonly shape?: 'parsed object' | 'raw string';
}

async function fixture(name: FixtureName): Promise<OktaPayload> {
  return JSON.parse(await readFixture('okta', name));
}

/** A delivery as Okta makes it with the recommended set-up: the secret in the x-okta-webhook-secret header. */
function oktaPost(payload: OktaPayload, options: RequestOptions = {}): BotEvent {
  return botEvent({
    input: options.shape === 'raw string' ? JSON.stringify(payload) : structuredClone(payload),
    headers: options.headers ?? { 'X-Okta-Webhook-Secret': SECRET },
    secrets: { OKTA_WEBHOOK_SECRET: SECRET, ...options.secrets },
  });
}

/** Okta's one-time verification GET: Medplum hands the bot the (empty) query string as input. */
function verificationGet(challenge: string, headers: Record<string, string> = { 'X-Okta-Webhook-Secret': SECRET }) {
  return botEvent({
    input: {},
    contentType: '',
    headers: { 'X-Okta-Verification-Challenge': challenge, ...headers },
    secrets: { OKTA_WEBHOOK_SECRET: SECRET },
  });
}

async function deliver(medplum: TestMedplum, name: FixtureName, options?: RequestOptions): Promise<OktaDeliveryResult> {
  return (await handler(medplum, oktaPost(await fixture(name), options))) as OktaDeliveryResult;
}

async function deliverPayload(medplum: TestMedplum, payload: OktaPayload, options?: RequestOptions) {
  return (await handler(medplum, oktaPost(payload, options))) as OktaDeliveryResult;
}

/** The delivery's single event with some fields changed, as a new delivery. */
function withEvent(payload: OktaPayload, change: (event: OktaTestEvent) => void): OktaPayload {
  const copy = structuredClone(payload);
  change(copy.data.events[0]);
  return copy;
}

async function only<T extends Practitioner | Patient | AuditEvent>(medplum: TestMedplum, type: T['resourceType']) {
  const resources = await allOf<T>(medplum, type);
  expect(resources).toHaveLength(1);
  return resources[0];
}

function requestKinds(medplum: TestMedplum): string[] {
  return medplum.requests.map((request) => `${request.method} ${request.bundle?.type ?? request.url}`);
}

let logs: string[];

beforeEach(() => {
  logs = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => logs.push(line));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Okta event hook verification and authentication', () => {
  test.each<[string, unknown]>([
    ['an empty query object', {}],
    ['an empty query string', ''],
  ])('answers the verification GET given %s with the challenge, writing nothing', async (_shape, input) => {
    const medplum = createTestMedplum();
    const event = { ...verificationGet('cRYYJbgZk0ITDdwN4Kmq8EX7zRFrDXVh'), input };

    const answer = await handler(medplum, event);

    expect(answer).toEqual({ verification: 'cRYYJbgZk0ITDdwN4Kmq8EX7zRFrDXVh' });
    expect(medplum.requests).toEqual([]);
    expect(logs).toEqual(['[okta] event hook verification: answered']);
  });

  test('refuses the verification GET when the secret header is missing, so a wrong set-up shows in Okta', async () => {
    const medplum = createTestMedplum();

    const answer = handler(medplum, verificationGet('cRYYJbgZk0ITDdwN4Kmq8EX7zRFrDXVh', {}));

    await expect(answer).rejects.toThrow(/^The x-okta-webhook-secret header is missing/);
    expect(medplum.requests).toEqual([]);
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['no secret header', {}, /The x-okta-webhook-secret header is missing.*set OKTA_WEBHOOK_SECRET_HEADER/],
    ['a wrong secret', { 'x-okta-webhook-secret': 'okta-hook-guess' }, /does not match OKTA_WEBHOOK_SECRET/],
    ['the secret with a character more', { 'x-okta-webhook-secret': SECRET + 'x' }, /does not match/],
    ['the secret in Authorization instead', { authorization: SECRET }, /header is missing/],
  ];

  test.each(refusals)('refuses a delivery with %s and writes nothing', async (_case, headers, message) => {
    const medplum = createTestMedplum();

    const result = handler(medplum, oktaPost(await fixture('batch'), { headers }));

    await expect(result).rejects.toMatchObject({
      name: 'WebhookVerificationError',
      message: expect.stringMatching(message),
    });
    expect(medplum.requests).toEqual([]);
    expect(logs).toEqual([expect.stringMatching(/^\[okta\] rejected - WebhookVerificationError: /)]);
  });

  test('accepts the previous secret during a rotation and refuses it once the rotation is over', async () => {
    const medplum = createTestMedplum();
    const headers = { 'x-okta-webhook-secret': OLD_SECRET };

    await deliver(medplum, 'user.lifecycle.create', { headers, secrets: { OKTA_WEBHOOK_SECRET_PREVIOUS: OLD_SECRET } });
    const afterRotation = deliver(medplum, 'user.lifecycle.activate', { headers });

    await expect(afterRotation).rejects.toThrow(/does not match OKTA_WEBHOOK_SECRET/);
    expect((await only<Practitioner>(medplum, 'Practitioner')).active).toBe(false);
  });

  test('reads the secret from Authorization when OKTA_WEBHOOK_SECRET_HEADER says so (the /webhook route)', async () => {
    const medplum = createTestMedplum();
    const options: RequestOptions = {
      headers: { Authorization: SECRET },
      secrets: { OKTA_WEBHOOK_SECRET_HEADER: 'Authorization' },
      shape: 'raw string',
    };

    const result = await deliver(medplum, 'user.lifecycle.create', options);

    expect(result.events.map((event) => event.outcome)).toEqual(['written']);
  });

  test("refuses Medplum's Basic credentials when Authorization is named as the secret header on $execute", async () => {
    const medplum = createTestMedplum();
    const options: RequestOptions = {
      headers: { Authorization: 'Basic ' + Buffer.from('client-id:client-secret').toString('base64') },
      secrets: { OKTA_WEBHOOK_SECRET_HEADER: 'authorization' },
    };

    const result = deliver(medplum, 'user.lifecycle.create', options);

    await expect(result).rejects.toThrow(/On \$execute, authorization holds Medplum's credentials: use a custom/);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['a missing OKTA_WEBHOOK_SECRET', { OKTA_WEBHOOK_SECRET: '' }, /^Bot secret OKTA_WEBHOOK_SECRET is not set; set/],
    ['a header name with a space', { OKTA_WEBHOOK_SECRET_HEADER: 'x okta' }, /_HEADER is not a valid HTTP header/],
    ['RelatedPerson users', { OKTA_USER_RESOURCE_TYPE: 'RelatedPerson' }, /requires a RelatedPerson's patient/],
    ['an unknown user resource type', { OKTA_USER_RESOURCE_TYPE: 'Person' }, /must be Practitioner or Patient/],
  ])('refuses to run with %s and says which bot secret to fix', async (_case, secrets, message) => {
    const medplum = createTestMedplum();

    const result = deliver(medplum, 'user.lifecycle.create', { secrets });

    await expect(result).rejects.toMatchObject({
      name: 'BotConfigurationError',
      message: expect.stringMatching(message),
    });
    expect(medplum.requests).toEqual([]);
  });
});

describe('Okta user events', () => {
  test('writes a batch of event types oldest first: one read, then one transaction', async () => {
    const medplum = createTestMedplum();

    const result = await deliver(medplum, 'batch');
    const requests = requestKinds(medplum);

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner).toMatchObject({
      identifier: [{ system: OKTA_SYSTEMS.user, value: USER_ID }],
      active: true,
      name: [{ use: 'usual', text: 'Ana Lima Costa' }],
      telecom: [{ system: 'email', value: 'ana.costa@clinic.example', use: 'work' }],
      extension: [
        {
          url: SOURCE_EVENT_EXTENSION_URL,
          extension: [
            { url: 'aspect', valueString: 'lifecycle' },
            { url: 'time', valueInstant: '2024-05-06T14:02:11.391Z' },
            { url: 'rank', valueInteger: 3 },
          ],
        },
        {
          url: SOURCE_EVENT_EXTENSION_URL,
          extension: [
            { url: 'aspect', valueString: 'profile' },
            { url: 'time', valueInstant: '2024-05-07T09:15:42.017Z' },
            { url: 'rank', valueInteger: 2 },
          ],
        },
      ],
    });
    const login = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(login.agent[0].who).toEqual({ reference: `Practitioner/${practitioner.id}` });
    expect(result.received).toBe(5);
    expect(result.events.map((event) => [event.eventType, event.outcome])).toEqual([
      ['user.account.update_profile', 'written'],
      ['user.lifecycle.create', 'written'],
      ['user.session.start', 'written'],
      ['user.lifecycle.activate', 'written'],
      ['group.user_membership.add', 'ignored'],
    ]);
    expect(requests).toEqual(['POST batch', 'POST transaction']);
    expect(await versionCount(medplum, practitioner)).toBe(1);
  });

  test('treats a redelivered batch as a no-op', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'batch');
    medplum.requests.length = 0;

    const again = await deliver(medplum, 'batch');
    const requests = requestKinds(medplum);

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    const login = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(await versionCount(medplum, practitioner)).toBe(1);
    expect(await versionCount(medplum, login)).toBe(1);
    // Create is older than what is stored for both aspects; activate is the newest lifecycle event.
    expect(again.events.map((event) => event.outcome)).toEqual([
      'unchanged',
      'stale',
      'unchanged',
      'unchanged',
      'ignored',
    ]);
    // One read finds the user and the AuditEvent as they should be: nothing to write.
    expect(requests).toEqual(['POST batch']);
  });

  test('converges on the newest event when a deactivate overtakes the activate before it', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'user.lifecycle.create');

    await deliver(medplum, 'user.lifecycle.deactivate');
    const late = await deliver(medplum, 'user.lifecycle.activate');

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.active).toBe(false);
    expect(late.events[0].outcome).toBe('stale');
    expect(await versionCount(medplum, practitioner)).toBe(2);
  });

  test('converges on the newest event when a reactivation overtakes the deactivate before it', async () => {
    const medplum = createTestMedplum();
    const reactivate = withEvent(await fixture('user.lifecycle.activate'), (event) => {
      event.uuid = '6a1e4c2f-2010-11ef-b5e3-0d4c7a2e9b16';
      event.eventType = 'user.lifecycle.reactivate';
      event.published = '2024-06-02T08:00:00.000Z';
    });

    await deliverPayload(medplum, reactivate);
    const late = await deliver(medplum, 'user.lifecycle.deactivate');

    expect((await only<Practitioner>(medplum, 'Practitioner')).active).toBe(true);
    expect(late.events[0].outcome).toBe('stale');
  });

  test('keeps a late deactivate that arrives after a newer profile update, and the newer name', async () => {
    const medplum = createTestMedplum();
    const rename = withEvent(await fixture('user.account.update_profile'), (event) => {
      event.published = '2024-06-05T10:00:00.000Z';
      event.target[0].displayName = 'Ana Costa';
    });
    await deliver(medplum, 'user.lifecycle.activate');
    await deliverPayload(medplum, rename);

    const late = await deliver(medplum, 'user.lifecycle.deactivate');

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(late.events[0].outcome).toBe('written');
    expect(practitioner).toMatchObject({ active: false, name: [{ use: 'usual', text: 'Ana Costa' }] });
  });

  test('converges on the newest event when one batch carries both in reverse order', async () => {
    const medplum = createTestMedplum();
    const deactivate = (await fixture('user.lifecycle.deactivate')).data.events[0];
    const activate = (await fixture('user.lifecycle.activate')).data.events[0];
    const payload = await fixture('user.lifecycle.deactivate');
    payload.data.events = [deactivate, activate];

    const result = await deliverPayload(medplum, payload);

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.active).toBe(false);
    expect(result.events.map((event) => event.outcome)).toEqual(['written', 'written']);
    expect(await versionCount(medplum, practitioner)).toBe(1);
  });

  test('breaks a tie of equal published times in favour of the later stage of a user', async () => {
    const medplum = createTestMedplum();
    const sameTime = '2024-06-01T17:45:00.120Z';
    const activate = withEvent(await fixture('user.lifecycle.activate'), (event) => (event.published = sameTime));

    await deliver(medplum, 'user.lifecycle.deactivate');
    const tie = await deliverPayload(medplum, activate);

    expect(tie.events[0].outcome).toBe('stale');
    expect((await only<Practitioner>(medplum, 'Practitioner')).active).toBe(false);
  });

  test('keeps a deleted user in Medplum, inactive', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'batch');

    const result = await deliver(medplum, 'user.lifecycle.delete.completed');

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.active).toBe(false);
    expect(practitioner.name).toEqual([{ use: 'usual', text: 'Ana Lima' }]);
    expect(result.events[0]).toMatchObject({ outcome: 'written', resources: [{ outcome: 'updated' }] });
  });

  test('ignores a lifecycle event that failed in Okta', async () => {
    const medplum = createTestMedplum();
    const failed = withEvent(await fixture('user.lifecycle.deactivate'), (event) => {
      event.outcome = { result: 'FAILURE', reason: 'User is already deactivated' };
    });

    const result = await deliverPayload(medplum, failed);

    expect(result.events[0]).toMatchObject({ outcome: 'ignored', resources: [] });
    expect(medplum.requests).toEqual([]);
    expect(logs).toEqual([
      '[okta] f2b7c9d0-1f8a-11ef-b5e3-0d4c7a2e9b16 user.lifecycle.deactivate: ignored - ' +
        'Okta reports outcome FAILURE, so the user did not change',
    ]);
  });

  test('keeps the names and contact points someone added in Medplum when the profile changes', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'user.lifecycle.create');
    const created = await only<Practitioner>(medplum, 'Practitioner');
    await medplum.updateResource<Practitioner>({
      ...created,
      name: [{ use: 'official', given: ['Ana', 'Maria'], family: 'Lima' }, ...(created.name ?? [])],
      telecom: [...(created.telecom ?? []), { system: 'phone', value: '+351 210 000 000', use: 'work' }],
    });

    await deliver(medplum, 'user.account.update_profile');

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.name).toEqual([
      { use: 'official', given: ['Ana', 'Maria'], family: 'Lima' },
      { use: 'usual', text: 'Ana Lima Costa' },
    ]);
    expect(practitioner.telecom).toEqual([
      { system: 'email', value: 'ana.costa@clinic.example', use: 'work' },
      { system: 'phone', value: '+351 210 000 000', use: 'work' },
    ]);
    expect(practitioner.active).toBe(false);
  });

  test('maps users to Patient when OKTA_USER_RESOURCE_TYPE is Patient', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'batch', { secrets: { OKTA_USER_RESOURCE_TYPE: 'Patient' } });

    const patient = await only<Patient>(medplum, 'Patient');
    expect(patient).toMatchObject({
      identifier: [{ system: OKTA_SYSTEMS.user, value: USER_ID }],
      active: true,
      name: [{ use: 'usual', text: 'Ana Lima Costa' }],
      telecom: [{ system: 'email', value: 'ana.costa@clinic.example', use: 'home' }],
    });
    const login = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(login.agent[0].who).toEqual({ reference: `Patient/${patient.id}` });
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
  });

  test('maps every user event type the README asks Okta to send', () => {
    expect(USER_EVENT_TYPES).toEqual([
      'user.lifecycle.create',
      'user.account.update_profile',
      'user.lifecycle.activate',
      'user.lifecycle.reactivate',
      'user.lifecycle.unsuspend',
      'user.lifecycle.suspend',
      'user.lifecycle.deactivate',
      'user.lifecycle.delete.initiated',
      'user.lifecycle.delete.completed',
    ]);
  });
});

describe('Okta security events', () => {
  test('records a login as an AuditEvent that passes FHIR validation and points at the user', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'user.session.start');
    const requests = requestKinds(medplum);

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    const login = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(login).toMatchObject({
      meta: { tag: [{ system: OKTA_SYSTEMS.event, code: '8e6f21c4-0c45-11ef-a4f1-31d9b6e2c7a3' }] },
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authentication' },
      subtype: [
        { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122', display: 'Login' },
        { system: OKTA_SYSTEMS.eventType, code: 'user.session.start', display: 'User login to Okta' },
      ],
      action: 'E',
      recorded: '2024-05-07T08:30:05.512Z',
      outcome: '0',
      agent: [
        {
          type: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser' }],
          },
          who: { reference: `Practitioner/${practitioner.id}` },
          requestor: true,
          network: { address: '198.51.100.23', type: '2' },
        },
      ],
      source: {
        observer: { display: 'Okta' },
        site: ORG_HOST,
        type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '6' }],
      },
    });
    expect(login.entity).toBeUndefined();
    expect(requests).toEqual(['POST batch', 'POST transaction']);
  });

  test('creates a user Medplum does not know yet from the login; a later lifecycle event completes it', async () => {
    const medplum = createTestMedplum();

    const login = await deliver(medplum, 'user.session.start');
    const placeholder = await only<Practitioner>(medplum, 'Practitioner');
    await deliver(medplum, 'user.lifecycle.deactivate');

    expect(placeholder).toMatchObject({
      identifier: [{ system: OKTA_SYSTEMS.user, value: USER_ID }],
      name: [{ use: 'usual', text: 'Ana Lima' }],
      telecom: [{ system: 'email', value: 'ana.lima@clinic.example', use: 'work' }],
    });
    expect(placeholder.active).toBeUndefined();
    expect(placeholder.extension).toBeUndefined();
    expect(login.events[0].resources).toEqual([
      { reference: `Practitioner/${placeholder.id}`, outcome: 'created' },
      { reference: expect.stringMatching(/^AuditEvent\//), outcome: 'created' },
    ]);
    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.id).toBe(placeholder.id);
    expect(practitioner.active).toBe(false);
  });

  test('points a login at the user that the same delivery updates', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'user.lifecycle.create');
    const payload = await fixture('user.lifecycle.deactivate');
    payload.data.events.push((await fixture('user.session.start')).data.events[0]);

    const result = await deliverPayload(medplum, payload);

    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.active).toBe(false);
    expect((await only<AuditEvent>(medplum, 'AuditEvent')).agent[0].who).toEqual({
      reference: `Practitioner/${practitioner.id}`,
    });
    expect(result.events.map((event) => event.outcome)).toEqual(['written', 'written']);
    expect(await versionCount(medplum, practitioner)).toBe(2);
  });

  test("splits many logins into transactions within Medplum's entry limit, each pointing at its user", async () => {
    const medplum = createTestMedplum();
    const payload = await fixture('user.session.start');
    const [login] = payload.data.events;
    payload.data.events = Array.from({ length: 10 }, (_, index) => ({
      ...structuredClone(login),
      uuid: `8e6f21c4-0c45-11ef-a4f1-31d9b6e2c7${String(index).padStart(2, '0')}`,
      actor: { ...login.actor, id: `00u8d2x7ywPnE4Rj15${String(index).padStart(2, '0')}` },
    }));

    await deliverPayload(medplum, payload);
    const transactions = medplum.requests
      .filter((request) => request.bundle?.type === 'transaction')
      .map((request) => request.bundle?.entries.length);

    // Ten users first (the AuditEvents point at them), then ten AuditEvents, at most 8 entries each.
    expect(transactions).toEqual([8, 8, 4]);
    const practitioners = await allOf<Practitioner>(medplum, 'Practitioner');
    const audits = await allOf<AuditEvent>(medplum, 'AuditEvent');
    expect(practitioners).toHaveLength(10);
    expect(audits).toHaveLength(10);
    const userOf = new Map(practitioners.map((p) => [`Practitioner/${p.id}`, p.identifier?.[0].value]));
    for (const audit of audits) {
      const index = audit.meta?.tag?.[0].code?.slice(-2);
      expect(userOf.get(audit.agent[0].who?.reference as string)).toBe(`00u8d2x7ywPnE4Rj15${index}`);
    }
  });

  test('rejects an event whose outcome is not what Okta documents, rather than read it as a success', async () => {
    const medplum = createTestMedplum();
    const odd = withEvent(await fixture('user.lifecycle.deactivate'), (event) => {
      (event as { outcome: unknown }).outcome = { result: 0 };
    });

    const result = await deliverPayload(medplum, odd);

    expect(result.events).toEqual([expect.objectContaining({ outcome: 'rejected', resources: [] })]);
    expect(logs.join('\n')).toMatch(
      /data\.events\[0\]\.outcome\.result is an integer, where the vendor documents a string/
    );
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
  });

  test('records a failed sign-in to an unknown account without inventing a user', async () => {
    const medplum = createTestMedplum();
    const failed = withEvent(await fixture('user.session.start'), (event) => {
      event.actor = { id: 'unknown', type: 'User', alternateId: 'a.lima@clinic.example', displayName: 'unknown' };
      event.outcome = { result: 'FAILURE', reason: 'VERIFICATION_ERROR' };
    });

    const result = await deliverPayload(medplum, failed);

    const audit = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(audit.outcome).toBe('4');
    expect(audit.outcomeDesc).toBe('VERIFICATION_ERROR');
    expect(audit.agent).toEqual([
      {
        type: { coding: [expect.objectContaining({ code: 'humanuser' })] },
        requestor: true,
        network: { address: '198.51.100.23', type: '2' },
      },
    ]);
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
    expect(result.events[0]).toMatchObject({ outcome: 'written', resources: [{ outcome: 'created' }] });
  });

  test('records the security events listed in OKTA_AUDIT_EVENT_TYPES and only acknowledges the others', async () => {
    const reset = withEvent(await fixture('user.lifecycle.deactivate'), (event) => {
      event.uuid = '44c1d2e3-2100-11ef-b5e3-0d4c7a2e9b16';
      event.eventType = 'user.mfa.factor.reset_all';
      event.displayMessage = 'Reset all factors for user';
    });
    const optedIn = createTestMedplum();
    const notOptedIn = createTestMedplum();

    const secrets = { OKTA_AUDIT_EVENT_TYPES: 'user.account.lock, user.mfa.factor.reset_all' };
    await deliverPayload(optedIn, reset, { secrets });
    const ignored = await deliverPayload(notOptedIn, reset);

    const audit = await only<AuditEvent>(optedIn, 'AuditEvent');
    const admin = await only<Practitioner>(optedIn, 'Practitioner');
    expect(audit.type).toEqual({
      system: 'http://dicom.nema.org/resources/ontology/DCM',
      code: '110113',
      display: 'Security Alert',
    });
    expect(audit.subtype).toEqual([
      { system: OKTA_SYSTEMS.eventType, code: 'user.mfa.factor.reset_all', display: 'Reset all factors for user' },
    ]);
    expect(audit.agent[0].who).toEqual({ reference: `Practitioner/${admin.id}` });
    expect(admin.identifier).toEqual([{ system: OKTA_SYSTEMS.user, value: '00u3a9k2hrLmQ0Xy85d7' }]);
    expect(audit.entity).toEqual([
      { what: { type: 'Practitioner', identifier: { system: OKTA_SYSTEMS.user, value: USER_ID } } },
    ]);
    expect(ignored.events[0]).toMatchObject({ outcome: 'ignored', resources: [] });
    expect(notOptedIn.requests).toEqual([]);
  });

  test('names an app or Okta itself by its id when it is the actor, without creating a user', async () => {
    const medplum = createTestMedplum();
    const bySystem = withEvent(await fixture('user.session.start'), (event) => {
      event.actor = { id: '0oa1b2c3d4e5f6g7h8i9', type: 'PublicClientApp', displayName: 'Portal' };
    });

    await deliverPayload(medplum, bySystem);

    expect((await only<AuditEvent>(medplum, 'AuditEvent')).agent).toEqual([
      {
        altId: '0oa1b2c3d4e5f6g7h8i9',
        name: 'Portal',
        requestor: true,
        network: { address: '198.51.100.23', type: '2' },
      },
    ]);
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
  });
});

describe('Okta delivery failures', () => {
  test('rejects the events it cannot read, logs each, and still writes the rest of the batch', async () => {
    const medplum = createTestMedplum();
    const payload = await fixture('batch');
    const [profile, create, login, activate] = payload.data.events;
    delete activate.target;
    payload.data.events = [{ published: '2024-05-07T09:00:00.000Z' }, profile, create, login, activate, create];

    const result = await deliverPayload(medplum, payload);

    expect(result.events.map((event) => [event.eventId, event.outcome])).toEqual([
      ['event #1', 'rejected'],
      [profile.uuid, 'written'],
      [create.uuid, 'written'],
      [login.uuid, 'written'],
      [activate.uuid, 'rejected'],
      [create.uuid, 'duplicate'],
    ]);
    const practitioner = await only<Practitioner>(medplum, 'Practitioner');
    expect(practitioner.active).toBe(false);
    expect(practitioner.name).toEqual([{ use: 'usual', text: 'Ana Lima Costa' }]);
    expect(await allOf(medplum, 'AuditEvent')).toHaveLength(1);
    expect(logs[0]).toBe(
      '[okta] event #1 unknown type: rejected - PayloadError: Event #1 has no uuid or eventType; ' +
        'Okta sends both with every event.'
    );
    expect(logs[4]).toBe(
      `[okta] ${activate.uuid} user.lifecycle.activate: rejected - PayloadError: Event ${activate.uuid} ` +
        'has no target of type User, so there is no user to update.'
    );
  });

  test.each<[string, unknown, RegExp]>([
    ['a body that is not JSON', '{"data": {"events": [', /The request body is not valid JSON/],
    ['a JSON object without data.events', { eventType: 'com.okta.event_hook', data: {} }, /no data\.events array/],
    ['the empty object Medplum makes of other content types', {}, /no data\.events array/],
  ])('refuses %s and writes nothing', async (_case, input, message) => {
    const medplum = createTestMedplum();
    const event = { ...oktaPost(await fixture('batch')), input };

    const result = handler(medplum, event);

    await expect(result).rejects.toMatchObject({ name: 'PayloadError', message: expect.stringMatching(message) });
    expect(medplum.requests).toEqual([]);
  });

  test('acknowledges a delivery without events and writes nothing', async () => {
    const medplum = createTestMedplum();
    const payload = await fixture('batch');
    payload.data.events = [];

    const result = await deliverPayload(medplum, payload);

    expect(result).toEqual({ received: 0, events: [] });
    expect(medplum.requests).toEqual([]);
    expect(logs).toEqual(['[okta] e49aacbd-6fc1-40d2-a5e7-4b5c6d7e8f90: acknowledged - no events']);
  });

  test('retries once a transaction that failed for a passing reason: Okta never redelivers after a 400', async () => {
    const medplum = createTestMedplum();
    failTransactions(medplum, 1);

    const result = await deliver(medplum, 'batch');
    const requests = requestKinds(medplum);

    const outcomes = result.events.map((event) => event.outcome);
    expect(outcomes).toEqual(['written', 'written', 'written', 'written', 'ignored']);
    expect(await versionCount(medplum, await only<Practitioner>(medplum, 'Practitioner'))).toBe(1);
    expect(await allOf(medplum, 'AuditEvent')).toHaveLength(1);
    expect(logs[0]).toMatch(/^\[okta\] retrying the write once - FhirWriteError: Writing Practitioner .* HTTP 412/);
    expect(requests).toEqual(['POST batch', 'POST transaction', 'POST batch', 'POST transaction']);
  });

  test('fails the delivery when the retry fails too, and has written nothing', async () => {
    const medplum = createTestMedplum();
    failTransactions(medplum, 2);

    await expect(deliver(medplum, 'batch')).rejects.toMatchObject({ name: 'OktaWriteError' });
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
    expect(logs).toEqual([
      expect.stringMatching(/^\[okta\] retrying the write once - FhirWriteError: /),
      expect.stringMatching(
        new RegExp(
          '^\\[okta\\] e49aacbd-6fc1-40d2-a5e7-4b5c6d7e8f90 delivery of 5 events: rejected - ' +
            'OktaWriteError: Writing Practitioner .* HTTP 412.* Retried once; Okta does not redeliver'
        )
      ),
    ]);
  });

  test('fails the delivery when a login cannot be written twice, and has written nothing', async () => {
    const medplum = createTestMedplum();
    failTransactions(medplum, 2);

    await expect(deliver(medplum, 'user.session.start')).rejects.toMatchObject({
      name: 'OktaWriteError',
      message: expect.stringMatching(/^Writing Practitioner https:\/\/okta.com\/user\|\S+ failed with HTTP 412/),
    });
    expect(await allOf(medplum, 'AuditEvent')).toHaveLength(0);
    expect(await allOf(medplum, 'Practitioner')).toHaveLength(0);
  });
});

describe('Okta bot logging', () => {
  test('logs one line per event with ids and references, never personal data, addresses or the secret', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'batch');

    const user = `Practitioner/${(await only<Practitioner>(medplum, 'Practitioner')).id}`;
    const audit = await only<AuditEvent>(medplum, 'AuditEvent');
    expect(logs).toEqual([
      `[okta] a91d5b70-0c4f-11ef-8c36-e7b24f1d9a55 user.account.update_profile: written - ${user} created`,
      `[okta] 3c1f7a52-0b9e-11ef-9d2b-5b7e1c4a8f01 user.lifecycle.create: written - ${user} created`,
      `[okta] 8e6f21c4-0c45-11ef-a4f1-31d9b6e2c7a3 user.session.start: written - AuditEvent/${audit.id} created`,
      `[okta] 3c3b0e18-0b9e-11ef-9d2b-5b7e1c4a8f01 user.lifecycle.activate: written - ${user} created`,
      '[okta] 3c4e8a06-0b9e-11ef-9d2b-5b7e1c4a8f01 group.user_membership.add: ignored - ' +
        'not mapped; unsubscribe from it in Okta or list it in OKTA_AUDIT_EVENT_TYPES',
    ]);
    const output = logs.join('\n');
    for (const secretOrPersonal of [...FIXTURE_PERSONAL_DATA, SECRET]) {
      expect(output).not.toContain(secretOrPersonal);
    }
  });
});

describe('Okta fixtures', () => {
  test.each(FIXTURES)('%s is shaped like a documented Okta event hook delivery', async (name) => {
    const payload = await fixture(name);

    expect(payload).toMatchObject({
      eventType: 'com.okta.event_hook',
      eventTypeVersion: '1.0',
      cloudEventsVersion: '0.1',
      contentType: 'application/json',
      source: `https://${ORG_HOST}/api/v1/eventHooks/who4f8kq2bTt9WZzC5d7`,
    });
    for (const event of payload.data.events) {
      expect(event).toMatchObject({
        uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        published: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        eventType: expect.any(String),
        version: '0',
        actor: { id: expect.any(String), type: 'User' },
        outcome: { result: 'SUCCESS' },
        target: expect.any(Array),
      });
    }
  });
});

describe('the built bundle dist/okta.js', () => {
  let bundle: string;

  beforeAll(() => {
    execFileSync(process.execPath, ['esbuild-script.mjs', 'okta'], { stdio: 'pipe' });
    bundle = readFileSync('dist/okta.js', 'utf8');
  });

  test('needs only Node built-ins', () => {
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
    expect(new Set(required)).toEqual(new Set(['node:buffer', 'node:crypto']));
  });

  test('runs in a VM context with only Medplum globals and writes what the source writes', async () => {
    const fromBundle = createTestMedplum();
    const fromSource = createTestMedplum();
    const vmLines: string[] = [];
    const events = [
      verificationGet('Xb9qLm2RtK7wZp4s'),
      ...(await Promise.all(
        (['batch', 'user.lifecycle.deactivate', 'user.lifecycle.activate', 'batch'] as const).map(async (name) =>
          oktaPost(await fixture(name))
        )
      )),
    ];

    for (const event of events) {
      const log = (line: string): number => vmLines.push(line);
      const vmResult = await runInVmContext({ code: bundle, medplum: fromBundle, event, log });
      const sourceResult = await handler(fromSource, event);
      expect(withoutServerIds(vmResult)).toEqual(withoutServerIds(sourceResult));
    }

    expect(await storedContent(fromBundle, PEOPLE_TYPES)).toEqual(await storedContent(fromSource, PEOPLE_TYPES));
    expect(withoutServerIds(vmLines)).toEqual(withoutServerIds(logs));
    expect(vmLines).toHaveLength(1 + 5 + 1 + 1 + 5);
  });

  test('refuses a wrong secret inside the VM context too', async () => {
    const event = oktaPost(await fixture('batch'), { headers: { 'x-okta-webhook-secret': 'okta-hook-guess' } });

    const run = runInVmContext({ code: bundle, medplum: createTestMedplum(), event });

    await expect(run).rejects.toMatchObject({ name: 'WebhookVerificationError' });
  });
});

/** Makes the next `count` transactions fail as a server does when a concurrent delivery got there first. */
function failTransactions(medplum: TestMedplum, count: number): void {
  const executeBatch = medplum.executeBatch.bind(medplum);
  let remaining = count;
  medplum.executeBatch = async (bundle: Bundle, ...rest) => {
    if (bundle.type !== 'transaction' || remaining === 0) {
      return executeBatch(bundle, ...rest);
    }
    remaining--;
    medplum.requests.push({ method: 'POST', url: '', bundle: { type: 'transaction', entries: [] } });
    const entry = (bundle.entry ?? []).map(() => ({ response: { status: '412 Precondition Failed' } }));
    return { resourceType: 'Bundle', type: 'transaction-response', entry };
  };
}

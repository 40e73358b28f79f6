import type { Account, Basic, Invoice, Practitioner } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { allOf, createTestMedplum, takeInvalidWrites, versionCount } from '../../test/medplum.ts';
import { FhirWriteError } from './errors.ts';
import type { ResourceKey, SyncPlan, Upsert } from './fhir-sync.ts';
import {
  MAX_ENTRIES_PER_TRANSACTION,
  SOURCE_EVENT_EXTENSION_URL,
  canonicalJson,
  compact,
  syncPlans,
} from './fhir-sync.ts';

const ACCOUNT: ResourceKey = { resourceType: 'Account', system: 'https://example.com/customer', value: 'c1' };
const INVOICE: ResourceKey = { resourceType: 'Invoice', system: 'https://example.com/invoice', value: 'i1' };

function invoicePlan(eventId: string, occurredAt: string, status: Invoice['status'], rank = 0): SyncPlan {
  return {
    eventId,
    eventType: 'invoice.changed',
    occurredAt,
    rank,
    ensures: [{ key: ACCOUNT, placeholder: { resourceType: 'Account', status: 'active', name: 'Placeholder' } }],
    upserts: [
      {
        key: INVOICE,
        build: ({ reference }) => ({ status, account: reference<Account>(ACCOUNT) }),
      },
    ],
  };
}

describe('syncPlans', () => {
  test('creates the resource and its placeholder in one read and one transaction', async () => {
    const medplum = createTestMedplum();

    const [result] = await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);
    const requestsOfSync = [...medplum.requests];

    const [invoice] = await allOf<Invoice>(medplum, 'Invoice');
    const [account] = await allOf<Account>(medplum, 'Account');
    expect(invoice.status).toBe('issued');
    expect(invoice.identifier).toEqual([{ system: INVOICE.system, value: 'i1' }]);
    expect(invoice.account).toEqual({ reference: `Account/${account.id}` });
    expect(account.name).toBe('Placeholder');
    expect(invoice.extension).toEqual([
      { url: SOURCE_EVENT_EXTENSION_URL, extension: [{ url: 'time', valueInstant: '2024-01-01T00:00:00.000Z' }] },
    ]);
    expect(result.resources).toEqual([
      { reference: `Account/${account.id}`, outcome: 'created' },
      { reference: `Invoice/${invoice.id}`, outcome: 'created' },
    ]);
    expect(requestsOfSync.map((r) => r.bundle?.type)).toEqual(['batch', 'transaction']);
  });

  test('changes nothing when the same event is applied again', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);
    medplum.requests.length = 0;

    const [result] = await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);
    const requestsOfSync = [...medplum.requests];

    const [invoice] = await allOf<Invoice>(medplum, 'Invoice');
    expect(result.resources[0].outcome).toBe('unchanged');
    expect(await versionCount(medplum, invoice)).toBe(1);
    expect(requestsOfSync.map((r) => r.bundle?.type)).toEqual(['batch']);
  });

  test('skips an older event that arrives after a newer one', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [invoicePlan('e2', '2024-01-02T00:00:00Z', 'balanced')]);

    const [result] = await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);

    expect(result.resources[0].outcome).toBe('stale');
    expect((await allOf<Invoice>(medplum, 'Invoice'))[0].status).toBe('balanced');
  });

  test('breaks a tie of equal times by rank', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [invoicePlan('paid', '2024-01-01T00:00:00Z', 'balanced', 2)]);
    await syncPlans(medplum, [invoicePlan('open', '2024-01-01T00:00:00Z', 'issued', 1)]);

    expect((await allOf<Invoice>(medplum, 'Invoice'))[0].status).toBe('balanced');
  });

  test('applies a batch of events oldest first and writes each resource once', async () => {
    const medplum = createTestMedplum();

    const results = await syncPlans(medplum, [
      invoicePlan('e2', '2024-01-02T00:00:00Z', 'balanced'),
      invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued'),
    ]);
    const transaction = medplum.requests.at(-1)?.bundle;

    const [invoice] = await allOf<Invoice>(medplum, 'Invoice');
    expect(invoice.status).toBe('balanced');
    expect(await versionCount(medplum, invoice)).toBe(1);
    expect(results.map((r) => r.resources.map((resource) => resource.outcome))).toEqual([
      ['created'],
      ['created', 'created'],
    ]);
    expect(transaction?.entries).toHaveLength(2);
  });

  test('keeps fields that someone else added to the resource', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);
    const [stored] = await allOf<Invoice>(medplum, 'Invoice');
    await medplum.updateResource({ ...stored, note: [{ text: 'Call before charging' }] });

    await syncPlans(medplum, [invoicePlan('e2', '2024-01-02T00:00:00Z', 'balanced')]);

    const [invoice] = await allOf<Invoice>(medplum, 'Invoice');
    expect(invoice.status).toBe('balanced');
    expect(invoice.note).toEqual([{ text: 'Call before charging' }]);
  });

  test('makes one resource when deliveries race', async () => {
    const medplum = createTestMedplum();
    const plan = invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued');

    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => syncPlans(medplum, [plan])));

    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    const outcomes = settled.map((s) => (s.status === 'fulfilled' ? s.value[0].resources.at(-1)?.outcome : s.status));
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'unchanged')).toHaveLength(9);
    expect(await allOf<Invoice>(medplum, 'Invoice')).toHaveLength(1);
    expect(await allOf<Account>(medplum, 'Account')).toHaveLength(1);
  });

  test('fails a delivery whose create lost a race to a different event, so the vendor retries it', async () => {
    const medplum = createTestMedplum();
    const newer = invoicePlan('e2', '2024-01-02T00:00:00Z', 'balanced');
    const older = invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued');

    const settled = await Promise.allSettled([syncPlans(medplum, [older]), syncPlans(medplum, [newer])]);
    const retried = settled[1].status === 'rejected' ? await syncPlans(medplum, [newer]) : undefined;

    expect(settled[0].status).toBe('fulfilled');
    if (settled[1].status === 'rejected') {
      expect(settled[1].reason).toBeInstanceOf(FhirWriteError);
      expect(retried?.[0].resources.at(-1)?.outcome).toBe('updated');
    }
    expect((await allOf<Invoice>(medplum, 'Invoice'))[0].status).toBe('balanced');
  });

  test('throws when a transaction entry fails even though the server threw nothing', async () => {
    const medplum = createTestMedplum();
    const plan: SyncPlan = {
      ...invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued'),
      upserts: [{ key: INVOICE, build: () => ({ status: undefined }) }],
    };

    await expect(syncPlans(medplum, [plan])).rejects.toThrow(/Writing Invoice .* failed with HTTP 400/);
    takeInvalidWritesForThisTest();
  });
});

describe('syncPlans with aspects', () => {
  const USER: ResourceKey = { resourceType: 'Practitioner', system: 'https://example.com/user', value: 'u1' };
  const lifecycle = (eventId: string, occurredAt: string, active: boolean): SyncPlan => ({
    eventId,
    eventType: 'lifecycle',
    occurredAt,
    upserts: [{ key: USER, aspect: 'lifecycle', build: () => ({ active }) }],
  });
  const profile = (eventId: string, occurredAt: string, name: string): SyncPlan => ({
    eventId,
    eventType: 'profile',
    occurredAt,
    upserts: [{ key: USER, aspect: 'profile', build: () => ({ name: [{ text: name }] }) }],
  });

  test('a late event of one aspect is not lost to a newer event of another', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [lifecycle('activate', '2024-01-01T00:00:00Z', true)]);
    await syncPlans(medplum, [profile('rename', '2024-01-03T00:00:00Z', 'New Name')]);

    const [late] = await syncPlans(medplum, [lifecycle('deactivate', '2024-01-02T00:00:00Z', false)]);

    const [user] = await allOf<Practitioner>(medplum, 'Practitioner');
    expect(late.resources[0].outcome).toBe('updated');
    expect(user).toMatchObject({ active: false, name: [{ text: 'New Name' }] });
  });

  test('stays stale against a newer event of the same aspect', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [lifecycle('deactivate', '2024-01-02T00:00:00Z', false)]);

    const [late] = await syncPlans(medplum, [lifecycle('activate', '2024-01-01T00:00:00Z', true)]);

    expect(late.resources[0].outcome).toBe('stale');
    expect((await allOf<Practitioner>(medplum, 'Practitioner'))[0].active).toBe(false);
  });

  test('records one source-event extension per aspect, in a fixed order whatever the arrival order', async () => {
    const inOrder = createTestMedplum();
    const reversed = createTestMedplum();
    const plans = [lifecycle('a', '2024-01-01T00:00:00Z', true), profile('p', '2024-01-02T00:00:00Z', 'N')];
    for (const plan of plans) {
      await syncPlans(inOrder, [plan]);
    }
    for (const plan of [...plans].reverse()) {
      await syncPlans(reversed, [plan]);
    }

    const [a] = await allOf<Practitioner>(inOrder, 'Practitioner');
    const [b] = await allOf<Practitioner>(reversed, 'Practitioner');
    expect(a.extension).toEqual(b.extension);
    expect(a.extension?.map((e) => e.extension?.[0])).toEqual([
      { url: 'aspect', valueString: 'lifecycle' },
      { url: 'aspect', valueString: 'profile' },
    ]);
  });

  test('reports the most that happened when one event writes two aspects', async () => {
    const medplum = createTestMedplum();
    await syncPlans(medplum, [profile('p', '2024-01-05T00:00:00Z', 'Newest')]);
    const both: SyncPlan = {
      ...lifecycle('a', '2024-01-02T00:00:00Z', true),
      upserts: [...lifecycle('a', '', true).upserts, ...profile('a', '', 'Older').upserts],
    };

    const [result] = await syncPlans(medplum, [both]);

    expect(result.resources).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect((await allOf<Practitioner>(medplum, 'Practitioner'))[0]).toMatchObject({
      active: true,
      name: [{ text: 'Newest' }],
    });
  });
});

describe('syncPlans keyed on a tag', () => {
  test('creates a resource without identifiers once, found again by its tag', async () => {
    const medplum = createTestMedplum();
    const key: ResourceKey = { resourceType: 'Basic', system: 'https://example.com/event', value: 'ev1', via: 'tag' };
    const plan: SyncPlan = {
      eventId: 'ev1',
      eventType: 'seen',
      occurredAt: '2024-01-01T00:00:00Z',
      upserts: [{ key, build: () => ({ code: { text: 'seen' } }) }],
    };

    await syncPlans(medplum, [plan]);
    const [again] = await syncPlans(medplum, [plan]);

    const stored = await allOf<Basic>(medplum, 'Basic');
    expect(stored).toHaveLength(1);
    expect(stored[0].meta?.tag).toEqual([{ system: 'https://example.com/event', code: 'ev1' }]);
    expect(stored[0].identifier).toBeUndefined();
    expect(again.resources[0].outcome).toBe('unchanged');
  });
});

describe('syncPlans past the entry limit of a strict transaction', () => {
  test('splits the write, placeholders first, and resolves references across transactions', async () => {
    const medplum = createTestMedplum();
    const invoiceCount = MAX_ENTRIES_PER_TRANSACTION + 3;
    const plan: SyncPlan = {
      ...invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued'),
      upserts: Array.from({ length: invoiceCount }, (_, index): Upsert => ({
        key: { ...INVOICE, value: `i${index}` },
        build: ({ reference }): Partial<Invoice> => ({ status: 'issued', account: reference<Account>(ACCOUNT) }),
      })),
    };

    await syncPlans(medplum, [plan]);

    const transactions = medplum.requests.filter((r) => r.bundle?.type === 'transaction');
    const [account] = await allOf<Account>(medplum, 'Account');
    const invoices = await allOf<Invoice>(medplum, 'Invoice');
    expect(transactions.map((t) => t.bundle?.entries.length)).toEqual([MAX_ENTRIES_PER_TRANSACTION, 4]);
    expect(transactions[0].bundle?.entries[0]).toBe(`POST Account`);
    expect(invoices).toHaveLength(invoiceCount);
    expect(new Set(invoices.map((invoice) => invoice.account?.reference))).toEqual(new Set([`Account/${account.id}`]));
  });
});

describe('compact and canonicalJson', () => {
  test('drop empty values and ignore key order', () => {
    expect(compact({ a: '', b: [], c: {}, d: [undefined, { e: undefined }], f: 0, g: false })).toEqual({
      f: 0,
      g: false,
    });
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });
});

/** The one test that writes an invalid resource on purpose clears the record of it. */
function takeInvalidWritesForThisTest(): void {
  expect(takeInvalidWrites().map((w) => w.resourceType)).toEqual(['Invoice']);
}

describe('syncPlans when Medplum throws', () => {
  test('turns what the client throws into a retryable FhirWriteError, without the server message', async () => {
    const medplum = createTestMedplum();
    medplum.executeBatch = async () => {
      throw Object.assign(new Error('Too Many Requests for Jenny Rosen'), {
        outcome: { resourceType: 'OperationOutcome', id: 'too-many-requests', issue: [{ code: 'throttled' }] },
      });
    };

    const error = await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]).catch((e) => e);

    expect(error).toBeInstanceOf(FhirWriteError);
    expect(error.message).toMatch(/^Medplum did not complete the batch read \(Error: too-many-requests, throttled\)/);
    expect(error.message).not.toContain('Jenny');
  });

  test('sends a transaction once, leaving retries to the vendor', async () => {
    const medplum = createTestMedplum();
    const options: unknown[] = [];
    const executeBatch = medplum.executeBatch.bind(medplum);
    medplum.executeBatch = (bundle, requestOptions) => {
      options.push(requestOptions);
      return executeBatch(bundle, requestOptions);
    };

    await syncPlans(medplum, [invoicePlan('e1', '2024-01-01T00:00:00Z', 'issued')]);

    expect(options).toEqual([undefined, expect.objectContaining({ maxRetries: 0 })]);
  });
});

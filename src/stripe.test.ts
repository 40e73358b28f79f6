import type { Account, Invoice, PaymentReconciliation, Resource } from '@medplum/fhirtypes';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { botEvent, readFixture } from '../test/bot-event.ts';
import { PERSONAL_DATA_IN_FIXTURES } from '../test/fixtures/personal-data.ts';
import type { TestMedplum } from '../test/medplum.ts';
import { allOf, createTestMedplum, storedContent, versionCount, withoutServerIds } from '../test/medplum.ts';
import { runInVmContext } from '../scripts/lib/vm-context.ts';
import { SOURCE_EVENT_EXTENSION_URL } from './lib/fhir-sync.ts';
import { computeHmac } from './lib/signature.ts';
import { handler, MAPPED_EVENT_TYPES, STRIPE_SYSTEMS, toMoney } from './stripe.ts';

/** The resource types this bot writes, for comparing whole stores. */
const BILLING_TYPES: Resource['resourceType'][] = ['Account', 'Invoice', 'PaymentReconciliation'];
const SECRET = 'whsec_test_5d2f1a0c9b8e7d6c5b4a39281706f5e4';
const OLD_SECRET = 'whsec_test_previous_0a1b2c3d4e5f60718293a4b5';
const PATIENT_ID = '6f7e0e1c-5b1a-4c7e-9a53-3f1d2c9b8a10';
const CUSTOMER_ID = 'cus_NffrFeUfNV2Hib';
const INVOICE_ID = 'in_1MtHbELkdIwHu7ixl4OzzPMv';
const FIXTURE_PERSONAL_DATA = PERSONAL_DATA_IN_FIXTURES.stripe;

interface Delivery {
  /** The body exactly as Stripe sent it (Stripe sends JSON indented with two spaces). */
  readonly payload: string;
  readonly header: string;
}

/** Signs a payload with the stripe SDK's own test-header generator: the oracle our verifier must agree with. */
function signWithStripe(payload: string, options: { secret?: string; timestamp?: number } = {}): Delivery {
  const header = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp,
  });
  return { payload, header };
}

async function fixtureDelivery(name: string, options?: { secret?: string; timestamp?: number }): Promise<Delivery> {
  return signWithStripe(await readFixture('stripe', name), options);
}

type InputShape = 'raw string' | 'parsed object';

function stripeEvent(delivery: Delivery, shape: InputShape = 'raw string', secrets: Record<string, string> = {}) {
  return botEvent({
    input: shape === 'raw string' ? delivery.payload : JSON.parse(delivery.payload),
    headers: { 'Stripe-Signature': delivery.header },
    secrets: { STRIPE_WEBHOOK_SECRET: SECRET, ...secrets },
  });
}

async function deliver(medplum: TestMedplum, name: string, shape: InputShape = 'raw string') {
  return handler(medplum, stripeEvent(await fixtureDelivery(name), shape));
}

async function only<T extends Account | Invoice | PaymentReconciliation>(
  medplum: TestMedplum,
  type: T['resourceType']
) {
  const resources = await allOf<T>(medplum, type);
  expect(resources).toHaveLength(1);
  return resources[0];
}

describe('Stripe signature verification', () => {
  test.each<InputShape>(['raw string', 'parsed object'])(
    'accepts an SDK-signed delivery given as a %s',
    async (shape) => {
      const medplum = createTestMedplum();

      const result = await deliver(medplum, 'customer.created', shape);

      expect(result).toMatchObject({ eventType: 'customer.created', outcome: 'written' });
      expect((await only<Account>(medplum, 'Account')).identifier).toEqual([
        { system: STRIPE_SYSTEMS.customer, value: CUSTOMER_ID },
      ]);
    }
  );

  test('accepts a parsed object whose body Stripe had signed as compact JSON', async () => {
    const medplum = createTestMedplum();
    const compact = JSON.stringify(JSON.parse(await readFixture('stripe', 'customer.created')));

    await handler(medplum, stripeEvent(signWithStripe(compact), 'parsed object'));

    expect(await allOf(medplum, 'Account')).toHaveLength(1);
  });

  test('accepts a header with several v1 signatures when one of them is right', async () => {
    const medplum = createTestMedplum();
    const signed = await fixtureDelivery('customer.created');
    const header = signed.header.replace(',v1=', `,v1=${'0'.repeat(64)},v1=`) + `,v1=${'f'.repeat(64)}`;

    await handler(medplum, stripeEvent({ ...signed, header }));

    expect(await allOf(medplum, 'Account')).toHaveLength(1);
  });

  test('accepts a delivery signed with the previous secret during a rotation', async () => {
    const medplum = createTestMedplum();
    const signed = await fixtureDelivery('customer.created', { secret: OLD_SECRET });

    await handler(medplum, stripeEvent(signed, 'raw string', { STRIPE_WEBHOOK_SECRET_PREVIOUS: OLD_SECRET }));

    expect(await allOf(medplum, 'Account')).toHaveLength(1);
  });

  const now = Math.floor(Date.now() / 1000);
  const refusals: [string, () => Promise<ReturnType<typeof stripeEvent>>, RegExp][] = [
    [
      'a tampered body',
      async () => {
        const signed = await fixtureDelivery('customer.created');
        return stripeEvent({ ...signed, payload: signed.payload.replace('Jenny Rosen', 'Mallory') });
      },
      /No signature matched \(checked against: the raw request body\)\. Check STRIPE_WEBHOOK_SECRET/,
    ],
    [
      'a wrong secret',
      async () => stripeEvent(await fixtureDelivery('customer.created', { secret: 'whsec_someone_else' })),
      /No signature matched/,
    ],
    [
      'the previous secret once the rotation is over',
      async () => stripeEvent(await fixtureDelivery('customer.created', { secret: OLD_SECRET })),
      /No signature matched/,
    ],
    [
      'a missing header',
      async () =>
        botEvent({
          input: await readFixture('stripe', 'customer.created'),
          secrets: { STRIPE_WEBHOOK_SECRET: SECRET },
        }),
      /The Stripe-Signature header is missing/,
    ],
    [
      'a header that is not key=value pairs',
      async () => stripeEvent({ ...(await fixtureDelivery('customer.created')), header: 'garbage' }),
      /The Stripe-Signature header is malformed/,
    ],
    [
      'a header without a v1 signature',
      async () => stripeEvent({ ...(await fixtureDelivery('customer.created')), header: `t=${now},v0=abc` }),
      /lacks a timestamp \(t\) or a v1 signature/,
    ],
    [
      'a timestamp older than five minutes',
      async () => stripeEvent(await fixtureDelivery('customer.created', { timestamp: now - 301 })),
      /s old, beyond the 300 s tolerance/,
    ],
    [
      'a timestamp more than five minutes in the future',
      async () => stripeEvent(await fixtureDelivery('customer.created', { timestamp: now + 400 })),
      /in the future, beyond the 300 s tolerance/,
    ],
    [
      'a non-numeric timestamp',
      async () => {
        const signed = await fixtureDelivery('customer.created');
        return stripeEvent({ ...signed, header: signed.header.replace(/^t=\d+/, 't=soon') });
      },
      /No signature matched|no valid timestamp/,
    ],
  ];

  test.each(refusals)('refuses %s and writes nothing', async (_name, makeEvent, message) => {
    const medplum = createTestMedplum();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const error = await handler(medplum, await makeEvent()).catch((err: Error) => err);

    log.mockRestore();
    expect(error).toMatchObject({ name: 'WebhookVerificationError', message: expect.stringMatching(message) });
    expect(medplum.requests).toEqual([]);
  });

  test('never reveals the expected signature in its error', async () => {
    const signed = await fixtureDelivery('customer.created');
    const tampered = signed.payload.replace('Jenny', 'Jenni');
    const timestamp = /t=(\d+)/.exec(signed.header)?.[1];
    const expected = computeHmac({
      algorithm: 'sha256',
      key: SECRET,
      message: `${timestamp}.${tampered}`,
      encoding: 'hex',
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const error = await handler(createTestMedplum(), stripeEvent({ ...signed, payload: tampered })).catch(
      (e: Error) => e
    );

    vi.restoreAllMocks();
    expect(String(error)).not.toContain(expected);
    expect(String(error)).not.toContain(SECRET);
  });

  test('names the missing secret and how to set it', async () => {
    const signed = await fixtureDelivery('customer.created');
    const event = botEvent({ input: signed.payload, headers: { 'Stripe-Signature': signed.header } });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const error = await handler(createTestMedplum(), event).catch((e: Error) => e);

    vi.restoreAllMocks();
    expect(error).toMatchObject({
      name: 'BotConfigurationError',
      message: expect.stringMatching(/Bot secret STRIPE_WEBHOOK_SECRET is not set; set it in the Medplum app/),
    });
  });

  test('refuses an authentic body that is not a Stripe event, writing nothing', async () => {
    const medplum = createTestMedplum();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const error = await handler(medplum, stripeEvent(signWithStripe('{"hello":"world"}'))).catch((e: Error) => e);

    vi.restoreAllMocks();
    expect(error).toMatchObject({ name: 'PayloadError', message: expect.stringMatching(/not a Stripe event/) });
    expect(medplum.requests).toEqual([]);
  });
});

describe('Stripe customers', () => {
  test('customer.created writes an Account linked to the Patient named in the metadata', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'customer.created');

    const account = await only<Account>(medplum, 'Account');
    expect(account).toMatchObject({
      status: 'active',
      name: 'Jenny Rosen',
      description: 'Stripe customer',
      subject: [{ reference: `Patient/${PATIENT_ID}` }],
      type: { coding: [{ code: 'PBILLACCT' }] },
      extension: ['details', 'status'].map((aspect) => ({
        url: SOURCE_EVENT_EXTENSION_URL,
        extension: [
          { url: 'aspect', valueString: aspect },
          { url: 'time', valueInstant: '2023-04-07T18:59:53.000Z' },
        ],
      })),
    });
  });

  test('does not invent a Patient when the metadata names none', async () => {
    const medplum = createTestMedplum();
    const payload = (await readFixture('stripe', 'customer.created')).replace(
      `"medplum_patient_id": "${PATIENT_ID}"`,
      ''
    );

    await handler(medplum, stripeEvent(signWithStripe(payload)));

    expect((await only<Account>(medplum, 'Account')).subject).toBeUndefined();
    expect(await allOf(medplum, 'Patient')).toHaveLength(0);
  });

  test('customer.deleted overtaking the customer events still ends inactive with the details', async () => {
    const medplum = createTestMedplum();

    for (const name of ['customer.deleted', 'customer.created', 'customer.updated']) {
      await deliver(medplum, name);
    }

    expect(await only<Account>(medplum, 'Account')).toMatchObject({
      status: 'inactive',
      name: 'Jenny Rosen',
      subject: [{ reference: `Patient/${PATIENT_ID}` }],
    });
  });

  test('a bare customer.deleted changes only the status', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'customer.created');
    const bare = JSON.parse(await readFixture('stripe', 'customer.deleted'));
    bare.data.object = { id: CUSTOMER_ID, object: 'customer', deleted: true };

    await handler(medplum, stripeEvent(signWithStripe(JSON.stringify(bare, null, 2))));

    expect(await only<Account>(medplum, 'Account')).toMatchObject({ status: 'inactive', name: 'Jenny Rosen' });
  });

  test('customer.deleted makes the Account inactive and keeps what it knew', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'customer.created');

    await deliver(medplum, 'customer.deleted');

    expect(await only<Account>(medplum, 'Account')).toMatchObject({ status: 'inactive', name: 'Jenny Rosen' });
  });
});

describe('Stripe invoices', () => {
  test("takes the Invoice's Patient from its own data only, so delivery order cannot change it", async () => {
    const customerFirst = createTestMedplum();
    const invoiceFirst = createTestMedplum();
    await deliver(customerFirst, 'customer.created');
    await deliver(customerFirst, 'invoice.paid');
    await deliver(invoiceFirst, 'invoice.paid');
    await deliver(invoiceFirst, 'customer.created');

    for (const medplum of [customerFirst, invoiceFirst]) {
      const invoice = await only<Invoice>(medplum, 'Invoice');
      const account = await only<Account>(medplum, 'Account');
      expect(invoice.subject).toBeUndefined();
      expect(invoice.account).toEqual({ reference: `Account/${account.id}` });
      expect(account.subject).toEqual([{ reference: `Patient/${PATIENT_ID}` }]);
    }
  });

  test('invoice.finalized writes the Invoice with totals, lines, issue date, Account and Patient', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'customer.created');
    const payload = (await readFixture('stripe', 'invoice.finalized')).replace(
      '"metadata": {},\n      "next_payment_attempt"',
      `"metadata": { "medplum_patient_id": "${PATIENT_ID}" },\n      "next_payment_attempt"`
    );

    await handler(medplum, stripeEvent(signWithStripe(payload)));

    const account = await only<Account>(medplum, 'Account');
    const invoice = await only<Invoice>(medplum, 'Invoice');
    expect(invoice).toMatchObject({
      status: 'issued',
      identifier: [
        { system: STRIPE_SYSTEMS.invoice, value: INVOICE_ID },
        { system: STRIPE_SYSTEMS.invoiceNumber, value: '0759376C-0001' },
      ],
      account: { reference: `Account/${account.id}` },
      subject: { reference: `Patient/${PATIENT_ID}` },
      date: '2023-04-04T21:43:20.000Z',
      totalNet: { value: 195, currency: 'USD' },
      totalGross: { value: 195, currency: 'USD' },
      lineItem: [
        {
          sequence: 1,
          chargeItemCodeableConcept: {
            text: 'Telehealth visit, 30 minutes',
            coding: [{ system: STRIPE_SYSTEMS.price, code: 'price_1NzlYfGgdF1VjufL0cVjLJVI' }],
          },
          priceComponent: [{ type: 'base', factor: 1, amount: { value: 150, currency: 'USD' } }],
        },
        {
          sequence: 2,
          chargeItemCodeableConcept: { text: 'Lab panel, basic metabolic' },
          priceComponent: [{ type: 'base', factor: 3, amount: { value: 45, currency: 'USD' } }],
        },
      ],
    });
  });

  test.each([
    ['invoice.created', { status: 'draft' }],
    ['invoice.updated', { status: 'issued' }],
    ['invoice.payment_failed', { status: 'issued' }],
    ['invoice.paid', { status: 'balanced' }],
    ['invoice.voided', { status: 'cancelled', cancelledReason: 'Voided in Stripe' }],
    ['invoice.marked_uncollectible', { status: 'cancelled', cancelledReason: 'Marked uncollectible in Stripe' }],
  ])('%s sets the Invoice to %o', async (name, expected) => {
    const medplum = createTestMedplum();

    await deliver(medplum, name);

    expect(await only<Invoice>(medplum, 'Invoice')).toMatchObject(expected);
  });

  test('an invoice before its customer points at a placeholder Account that the customer event fills in', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'invoice.created');
    const placeholder = await only<Account>(medplum, 'Account');
    await deliver(medplum, 'customer.created');

    const account = await only<Account>(medplum, 'Account');
    expect(placeholder).toMatchObject({ status: 'active', identifier: [{ value: CUSTOMER_ID }] });
    expect(placeholder.name).toBeUndefined();
    expect(account).toMatchObject({ id: placeholder.id, name: 'Jenny Rosen' });
    expect((await only<Invoice>(medplum, 'Invoice')).account).toEqual({ reference: `Account/${account.id}` });
  });
});

describe('Stripe payments and refunds', () => {
  test('payment_intent.succeeded writes a PaymentReconciliation for the amount received', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'payment_intent.succeeded');

    expect(await only<PaymentReconciliation>(medplum, 'PaymentReconciliation')).toMatchObject({
      identifier: [{ system: STRIPE_SYSTEMS.paymentIntent, value: 'pi_3MtwBwLkdIwHu7ix28a3tqPa' }],
      status: 'active',
      outcome: 'complete',
      paymentDate: '2023-04-05',
      paymentAmount: { value: 195, currency: 'USD' },
      detail: [{ type: { coding: [{ code: 'payment' }] }, amount: { value: 195, currency: 'USD' } }],
    });
  });

  test('charge.refunded writes the refunded total as a negative PaymentReconciliation', async () => {
    const medplum = createTestMedplum();

    await deliver(medplum, 'charge.refunded');

    expect(await only<PaymentReconciliation>(medplum, 'PaymentReconciliation')).toMatchObject({
      identifier: [{ system: STRIPE_SYSTEMS.chargeRefunds, value: 'ch_3MtwBwLkdIwHu7ix2N1f2vQm' }],
      paymentAmount: { value: -45, currency: 'USD' },
      paymentIdentifier: { system: STRIPE_SYSTEMS.paymentIntent, value: 'pi_3MtwBwLkdIwHu7ix28a3tqPa' },
      disposition: 'Charge partially refunded in Stripe',
      detail: [{ type: { coding: [{ code: 'adjustment' }] } }],
    });
  });

  test.each([
    [19500, 'usd', { value: 195, currency: 'USD' }],
    [1500, 'jpy', { value: 1500, currency: 'JPY' }],
    [1234, 'kwd', { value: 1.234, currency: 'KWD' }],
    [-4550, 'eur', { value: -45.5, currency: 'EUR' }],
  ])('converts %d %s to %o', (amount, currency, money) => {
    expect(toMoney(amount, currency)).toEqual(money);
  });
});

describe('Stripe event types the bot does not map', () => {
  test('are acknowledged and logged without any FHIR request', async () => {
    const medplum = createTestMedplum();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const result = await deliver(medplum, 'product.created');
    const lines = log.mock.calls.map((args) => args.join(' '));

    log.mockRestore();
    expect(result).toEqual({
      eventId: 'evt_1NzlYeGgdF1VjufLw0p3Rz7n',
      eventType: 'product.created',
      outcome: 'ignored',
      resources: [],
    });
    expect(medplum.requests).toEqual([]);
    expect(lines).toEqual(['[stripe] evt_1NzlYeGgdF1VjufLw0p3Rz7n product.created: ignored']);
  });
});

const ALL_MAPPED_FIXTURES = MAPPED_EVENT_TYPES;

describe('Stripe idempotency and ordering', () => {
  test.each(ALL_MAPPED_FIXTURES)('a redelivered %s changes nothing and costs one read', async (name) => {
    const medplum = createTestMedplum();
    await deliver(medplum, name);
    const before = await storedContent(medplum, BILLING_TYPES);
    medplum.requests.length = 0;

    const again = await deliver(medplum, name);

    expect(again.outcome).toBe('unchanged');
    expect(medplum.requests.map((r) => r.bundle?.type)).toEqual(['batch']);
    expect(await storedContent(medplum, BILLING_TYPES)).toEqual(before);
  });

  test.each(ALL_MAPPED_FIXTURES)('%s costs at most one read and one transaction', async (name) => {
    const medplum = createTestMedplum();

    await deliver(medplum, name);

    expect(medplum.requests.map((r) => `${r.method} ${r.bundle?.type}`)).toEqual(['POST batch', 'POST transaction']);
  });

  test('an older invoice.finalized arriving after invoice.paid leaves the Invoice paid', async () => {
    const medplum = createTestMedplum();
    await deliver(medplum, 'invoice.paid');

    const late = await deliver(medplum, 'invoice.finalized');

    const invoice = await only<Invoice>(medplum, 'Invoice');
    expect(late.outcome).toBe('stale');
    expect(invoice.status).toBe('balanced');
    expect(await versionCount(medplum, invoice)).toBe(1);
  });

  test('concurrent deliveries of one event make one Invoice and one Account', async () => {
    const medplum = createTestMedplum();
    const delivery = await fixtureDelivery('invoice.paid');

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => handler(medplum, stripeEvent(delivery))));

    expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    expect(await allOf(medplum, 'Invoice')).toHaveLength(1);
    expect(await allOf(medplum, 'Account')).toHaveLength(1);
  });
});

describe('Stripe bot logging', () => {
  test('logs one line per delivery with ids and references, never personal data or secrets', async () => {
    const medplum = createTestMedplum();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    const delivery = await fixtureDelivery('customer.updated');

    await handler(medplum, stripeEvent(delivery));
    await handler(medplum, stripeEvent({ ...delivery, payload: delivery.payload + ' ' })).catch(() => undefined);

    vi.restoreAllMocks();
    const account = await only<Account>(medplum, 'Account');
    expect(lines).toEqual([
      `[stripe] evt_1NG8Ek2eZvKYlo2CqzdP8oGm customer.updated: written - Account/${account.id} created`,
      expect.stringMatching(/^\[stripe\] rejected - WebhookVerificationError: No signature matched/),
    ]);
    const output = lines.join('\n');
    for (const secretOrPersonal of [...FIXTURE_PERSONAL_DATA, SECRET, delivery.header]) {
      expect(output).not.toContain(secretOrPersonal);
    }
  });
});

describe('Stripe bot when Medplum fails the write', () => {
  test('throws so that Stripe retries, and logs the event as failed', async () => {
    const medplum = createTestMedplum();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    vi.spyOn(medplum, 'executeBatch').mockImplementation(async (bundle) => ({
      resourceType: 'Bundle',
      type: `${bundle.type}-response` as 'batch-response',
      entry: bundle.entry?.map(() =>
        bundle.type === 'batch'
          ? { response: { status: '200' }, resource: { resourceType: 'Bundle', type: 'searchset' } }
          : { response: { status: '500' } }
      ),
    }));

    const error = await deliver(medplum, 'invoice.paid').catch((err: Error) => err);

    vi.restoreAllMocks();
    expect(error).toMatchObject({ name: 'FhirWriteError', message: expect.stringMatching(/failed with HTTP 500/) });
    expect(lines).toEqual([
      expect.stringMatching(
        /^\[stripe\] evt_1MtIaYLkdIwHu7ixVmJ9p2Qe invoice.paid: failed, will be retried - FhirWriteError/
      ),
    ]);
  });
});

describe('the built bundle dist/stripe.js', () => {
  let bundle: string;

  beforeAll(() => {
    execFileSync(process.execPath, ['esbuild-script.mjs', 'stripe'], { stdio: 'pipe' });
    bundle = readFileSync('dist/stripe.js', 'utf8');
  });

  test('does not contain the Stripe SDK and needs only Node built-ins', () => {
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['node:buffer', 'node:crypto']));
    expect(bundle).not.toMatch(/generateTestHeaderString|StripeSignatureVerificationError|api\.stripe\.com/);
  });

  test('runs in a VM context with only Medplum globals and writes what the source writes', async () => {
    const fromBundle = createTestMedplum();
    const fromSource = createTestMedplum();
    const lines: string[] = [];

    // invoice.created first: its placeholder Account is the path that once used a global the VM lacks.
    for (const name of [
      'invoice.created',
      'customer.created',
      'invoice.finalized',
      'invoice.paid',
      'charge.refunded',
    ]) {
      const delivery = await fixtureDelivery(name);
      const vmResult = await runInVmContext({
        code: bundle,
        medplum: fromBundle,
        event: stripeEvent(delivery, 'parsed object'),
        log: (line) => lines.push(line),
      });
      vi.spyOn(console, 'log').mockImplementation(() => undefined);
      const sourceResult = await handler(fromSource, stripeEvent(delivery, 'parsed object'));
      vi.restoreAllMocks();
      expect(withoutServerIds(vmResult)).toEqual(withoutServerIds(sourceResult));
    }

    expect(await storedContent(fromBundle, BILLING_TYPES)).toEqual(await storedContent(fromSource, BILLING_TYPES));
    expect(lines).toHaveLength(5);
  });

  test('refuses a bad signature inside the VM context too', async () => {
    const delivery = await fixtureDelivery('customer.created', { secret: 'whsec_wrong' });

    const run = runInVmContext({ code: bundle, medplum: createTestMedplum(), event: stripeEvent(delivery) });

    await expect(run).rejects.toMatchObject({ name: 'WebhookVerificationError' });
  });
});

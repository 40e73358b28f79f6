// Benchmark profile of the Stripe bot: the SDK it is compared with, the delivery the verifiers check, and
// a customer's billing life as Stripe delivers it (with redeliveries and a late event).
import type { BotEvent } from '@medplum/core';
import type { Invoice, Resource } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { botEvent } from '../../../test/bot-event.ts';
import { packageVersion } from '../machine.ts';
import {
  handler,
  parseStripeEvent,
  STRIPE_SECRET_NAME,
  STRIPE_SYSTEMS,
  verifyStripeSignature,
} from '../../../src/stripe.ts';
import type { BenchProfile, ObjectSet, Scenario, VerifierCases } from './types.ts';

const SECRET = 'whsec_benchmark_not_a_real_secret_0123456789';
const FIXTURES = new URL('../../../test/fixtures/stripe/', import.meta.url);

/** The largest sample the bot maps: an invoice with two lines (about 6 KB). */
const VERIFIED_SAMPLE = 'invoice.paid';

/**
 * One customer's billing life, in the order Stripe sends it (event time), then what Stripe also does:
 * deliver an event again, and deliver an old event late (here `invoice.finalized` after `invoice.paid`).
 */
const MIX: readonly { readonly sample: string; readonly note?: string }[] = [
  { sample: 'invoice.created' },
  { sample: 'invoice.finalized' },
  { sample: 'invoice.paid' },
  { sample: 'payment_intent.succeeded' },
  { sample: 'customer.created' },
  { sample: 'charge.refunded' },
  { sample: 'invoice.paid', note: 'redelivered' },
  { sample: 'customer.created', note: 'redelivered' },
  { sample: 'invoice.finalized', note: 'redelivered late, after invoice.paid' },
];

/** Stripe object ids that belong to one customer (prices and products are shared across customers). */
const OWN_ID = /(?<=["/])(?:cus|in|pi|ch|evt|ii|il|pm|txn|re|py)_[A-Za-z0-9]{10,}/g;
const INVOICE_NUMBER = /"number": "([A-Z0-9]+-\d+)"/g;

const CUSTOMER_ID = 'cus_NffrFeUfNV2Hib';
const INVOICE_ID = 'in_1MtHbELkdIwHu7ixl4OzzPMv';
const PAYMENT_INTENT_ID = 'pi_3MtwBwLkdIwHu7ix28a3tqPa';
const CHARGE_ID = 'ch_3MtwBwLkdIwHu7ix2N1f2vQm';

function readSample(name: string): string {
  // Stripe's bodies end without a newline; the fixture files have one for editors.
  return readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8').replace(/\n$/, '');
}

/** Makes the ids of a sample unique to object set `index`, keeping their Stripe prefix and shape. */
function withIdsOf(index: number, text: string): string {
  const suffix = 'x' + index.toString(36);
  return text.replace(OWN_ID, (id) => id + suffix).replace(INVOICE_NUMBER, `"number": "$1-${index}"`);
}

function signedEvent(input: string | object, payload: string, nowSeconds: number): BotEvent {
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: nowSeconds });
  return botEvent({ input, headers: { 'Stripe-Signature': header }, secrets: { [STRIPE_SECRET_NAME]: SECRET } });
}

function verifiers(): VerifierCases {
  const payload = readSample(VERIFIED_SAMPLE);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const raw = signedEvent(payload, payload, nowSeconds);
  const parsed = signedEvent(JSON.parse(payload), payload, nowSeconds);
  const header = (raw.headers as Record<string, string>)['stripe-signature'];
  return {
    sample: VERIFIED_SAMPLE,
    sampleBytes: Buffer.byteLength(payload),
    // constructEvent verifies and parses, so ours does both too: the handler's own first two steps.
    ours: {
      label: 'verifyStripeSignature + parseStripeEvent',
      run: () => parseStripeEvent(verifyStripeSignature(raw)),
    },
    sdk: {
      label: 'Stripe.webhooks.constructEvent',
      run: () => Stripe.webhooks.constructEvent(payload, header, SECRET),
    },
    oursParsed: {
      label: 'the same, on the parsed object $execute hands over',
      run: () => parseStripeEvent(verifyStripeSignature(parsed)),
    },
  };
}

function scenario(): Scenario {
  const samples = new Map(MIX.map(({ sample }) => [sample, readSample(sample)]));
  return {
    setName: 'customer',
    description: MIX.map(({ sample, note }) => (note ? `${sample} (${note})` : sample)).join(', '),
    deliveries(index: number): ObjectSet {
      const nowSeconds = Math.floor(Date.now() / 1000);
      const events = MIX.map(({ sample }) => {
        const payload = withIdsOf(index, samples.get(sample) as string);
        return signedEvent(payload, payload, nowSeconds);
      });
      return { events };
    },
    check: (medplum, index) => checkCustomer(medplum, (id) => withIdsOf(index, `"${id}"`).slice(1, -1)),
  };
}

/** The records one customer's deliveries must leave: one of each, the Invoice paid, the Account filled in. */
async function checkCustomer(medplum: MockClient, idOf: (fixtureId: string) => string): Promise<string[]> {
  const find = async <T extends Resource>(type: T['resourceType'], system: string, id: string): Promise<T[]> =>
    (await medplum.searchResources(type, { identifier: `${system}|${idOf(id)}` })) as unknown as T[];
  const [accounts, invoices, payments, refunds] = await Promise.all([
    find('Account', STRIPE_SYSTEMS.customer, CUSTOMER_ID),
    find<Invoice>('Invoice', STRIPE_SYSTEMS.invoice, INVOICE_ID),
    find('PaymentReconciliation', STRIPE_SYSTEMS.paymentIntent, PAYMENT_INTENT_ID),
    find('PaymentReconciliation', STRIPE_SYSTEMS.chargeRefunds, CHARGE_ID),
  ]);
  const problems: string[] = [];
  const counts = { Account: accounts, Invoice: invoices, payment: payments, refund: refunds };
  for (const [what, found] of Object.entries(counts)) {
    if (found.length !== 1) {
      problems.push(`${found.length} ${what} resources instead of 1`);
    }
  }
  if (invoices[0] && invoices[0].status !== 'balanced') {
    problems.push(`Invoice is ${invoices[0].status}, not balanced: an older event overwrote invoice.paid`);
  }
  if (accounts[0] && !('name' in accounts[0] && accounts[0].name)) {
    problems.push('Account has no name: customer.created was lost');
  }
  return problems;
}

export const stripeProfile: BenchProfile = {
  source: 'stripe',
  handler,
  sdk: { packageName: `stripe@${packageVersion('stripe')}`, entry: 'scripts/bench/profiles/stripe-with-sdk.ts' },
  verifiers,
  scenario,
};

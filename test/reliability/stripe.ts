// The Stripe bot's registration with the reliability suite: its related sample stream, Stripe's own
// signer (the stripe SDK's test-header generator), and the fields its mappers read.
import Stripe from 'stripe';
import { FhirWriteError } from '../../src/lib/errors.ts';
import { handler, STRIPE_SECRET_NAME, STRIPE_SYSTEMS, STRIPE_TOLERANCE_SECONDS } from '../../src/stripe.ts';
import { readFixture } from '../bot-event.ts';
import { PERSONAL_DATA_IN_FIXTURES } from '../fixtures/personal-data.ts';
import type { BotUnderTest, ReadField, Sample } from './harness.ts';

const SECRET = 'whsec_reliability_7c1d94e0b25a4f3e8d6b0a9c';

/** One customer, one invoice through its life, its payment and a refund, in the order Stripe sent them. */
const STREAM = [
  'invoice.created',
  'invoice.finalized',
  'invoice.updated',
  'invoice.payment_failed',
  'invoice.paid',
  'payment_intent.succeeded',
  'invoice.voided',
  'customer.created',
  'customer.updated',
  'charge.refunded',
  'customer.deleted',
  'invoice.marked_uncollectible',
];

async function samples(names: readonly string[]): Promise<Sample[]> {
  return Promise.all(names.map(async (name) => ({ name, body: await readFixture('stripe', name) })));
}

const CUSTOMER = /^customer\.(created|updated)$/;
const INVOICE = /^invoice\./;
const CHARGE = /^charge\./;
const PAYMENT_INTENT = /^payment_intent\./;
const ANY_MAPPED = /^(customer|invoice|charge|payment_intent)\./;

/** Every field src/stripe.ts reads, with the JSON types Stripe's API reference gives it. */
const READ_FIELDS: ReadField[] = [
  // The event envelope, checked for every event type.
  { path: 'object', types: ['string'] },
  { path: 'id', types: ['string'] },
  { path: 'type', types: ['string'] },
  { path: 'created', types: ['number'] },
  { path: 'data', types: ['object'] },
  { path: 'data.object', types: ['object'] },
  { path: 'data.object.object', types: ['string'], in: ANY_MAPPED },
  { path: 'data.object.id', types: ['string'], in: ANY_MAPPED },
  // customer.created / customer.updated
  { path: 'data.object.name', types: ['string', 'null'], in: CUSTOMER },
  // The email is the Account's name only when the customer has no name, as in no sample.
  { path: 'data.object.email', types: ['string', 'null'], in: CUSTOMER },
  { path: 'data.object.metadata', types: ['object'], in: CUSTOMER },
  {
    path: 'data.object.metadata.medplum_patient_id',
    types: ['string'],
    in: CUSTOMER,
  },
  // invoice.*
  { path: 'data.object.status', types: ['string'], in: INVOICE },
  { path: 'data.object.customer', types: ['string', 'object', 'null'], in: INVOICE },
  { path: 'data.object.metadata', types: ['object'], in: INVOICE },
  { path: 'data.object.number', types: ['string', 'null'], in: INVOICE },
  // The invoice's date falls back to `created` only while it has no finalized_at: in invoice.created.
  { path: 'data.object.created', types: ['number'], in: /^invoice\.created$/, mentions: /created|timestamp/ },
  { path: 'data.object.status_transitions', types: ['object'], in: INVOICE },
  {
    path: 'data.object.status_transitions.finalized_at',
    types: ['number', 'null'],
    in: INVOICE,
    mentions: /finalized_at|timestamp/,
  },
  { path: 'data.object.lines', types: ['object'], in: INVOICE },
  {
    path: 'data.object.lines.data',
    types: ['array'],
    in: INVOICE,
  },
  {
    path: 'data.object.lines.data.*',
    types: ['object'],
    in: INVOICE,
  },
  { path: 'data.object.lines.data.*.description', types: ['string', 'null'], in: INVOICE },
  { path: 'data.object.lines.data.*.quantity', types: ['number', 'null'], in: INVOICE },
  { path: 'data.object.lines.data.*.amount', types: ['number'], in: INVOICE },
  {
    path: 'data.object.lines.data.*.currency',
    types: ['string'],
    in: INVOICE,
  },
  { path: 'data.object.lines.data.*.pricing', types: ['object', 'null'], in: INVOICE },
  {
    path: 'data.object.lines.data.*.pricing.price_details',
    types: ['object', 'null'],
    in: INVOICE,
  },
  {
    path: 'data.object.lines.data.*.pricing.price_details.price',
    types: ['string', 'object'],
    in: INVOICE,
  },
  { path: 'data.object.subtotal', types: ['number'], in: INVOICE },
  { path: 'data.object.total', types: ['number'], in: INVOICE },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: INVOICE,
  },
  // payment_intent.succeeded
  { path: 'data.object.amount_received', types: ['number'], in: PAYMENT_INTENT },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: PAYMENT_INTENT,
  },
  { path: 'data.object.created', types: ['number'], in: PAYMENT_INTENT, mentions: /created|timestamp/ },
  // charge.refunded
  { path: 'data.object.amount', types: ['number'], in: CHARGE },
  {
    path: 'data.object.amount_refunded',
    types: ['number'],
    in: CHARGE,
  },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: CHARGE,
  },
  { path: 'data.object.created', types: ['number'], in: CHARGE, mentions: /created|timestamp/ },
  {
    path: 'data.object.payment_intent',
    types: ['string', 'object', 'null'],
    in: CHARGE,
  },
];

export const stripeBot: BotUnderTest = {
  name: 'stripe',
  handler: (medplum, event) => handler(medplum, event),
  samples: await samples(STREAM),
  ignoredSamples: await samples(['product.created']),
  isIgnored: (result) => (result as { outcome?: string } | undefined)?.outcome === 'ignored',
  sign: (body, { nowSeconds }) => ({
    headers: {
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: SECRET,
        timestamp: nowSeconds,
      }),
    },
    body,
    contentType: 'application/json; charset=utf-8',
  }),
  secrets: { [STRIPE_SECRET_NAME]: SECRET },
  bodyIsSigned: true,
  toleranceSeconds: STRIPE_TOLERANCE_SECONDS,
  credentialHeaders: ['stripe-signature'],
  isRetryableFailure: (error) => error instanceof FhirWriteError,
  resourceTypes: ['Account', 'Invoice', 'PaymentReconciliation'],
  identifierSystems: [
    STRIPE_SYSTEMS.customer,
    STRIPE_SYSTEMS.invoice,
    STRIPE_SYSTEMS.invoiceNumber,
    STRIPE_SYSTEMS.paymentIntent,
    STRIPE_SYSTEMS.chargeRefunds,
  ],
  personalStrings: PERSONAL_DATA_IN_FIXTURES.stripe,
  readFields: READ_FIELDS,
};

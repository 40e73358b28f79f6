// The Stripe bot's registration with the reliability suite: its related sample stream, Stripe's own
// signer (the stripe SDK's test-header generator), and the fields its mappers read.
import Stripe from 'stripe';
import { FhirWriteError } from '../../src/lib/errors.ts';
import { handler, STRIPE_SECRET_NAME, STRIPE_SYSTEMS, STRIPE_TOLERANCE_SECONDS } from '../../src/stripe.ts';
import { readFixture } from '../bot-event.ts';
import type { BotUnderTest, KnownStreamIssue, ReadField, Sample } from './harness.ts';
import { firstDelivery, lastDelivery } from './harness.ts';

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

// What src/stripe.ts does today with a wrong JSON type in a field it reads, for the fields where that is
// not a PayloadError (issue 6). The mappers check the envelope, the object kind and id, the invoice
// status and timestamps, and trust every other field.
const TYPE_ERROR = 'lets a TypeError escape instead of a PayloadError';
const INVALID_WRITE =
  'writes an invalid resource, which the server refuses: a retryable FhirWriteError, so Stripe retries for days';
const WRITTEN_WITHOUT_IT = 'writes the resource without the field, as if Stripe had not sent it';

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
  { path: 'data.object.name', types: ['string', 'null'], in: CUSTOMER, knownIssue: INVALID_WRITE },
  // The email is the Account's name only when the customer has no name, as in no sample.
  { path: 'data.object.email', types: ['string', 'null'], in: CUSTOMER, knownIssue: WRITTEN_WITHOUT_IT },
  { path: 'data.object.metadata', types: ['object'], in: CUSTOMER, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.metadata.medplum_patient_id',
    types: ['string'],
    in: CUSTOMER,
    knownIssue: `${TYPE_ERROR}; for null it ${WRITTEN_WITHOUT_IT}`,
  },
  // invoice.*
  { path: 'data.object.status', types: ['string'], in: INVOICE },
  { path: 'data.object.customer', types: ['string', 'object', 'null'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  { path: 'data.object.metadata', types: ['object'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  { path: 'data.object.number', types: ['string', 'null'], in: INVOICE, knownIssue: INVALID_WRITE },
  // The invoice's date falls back to `created` only while it has no finalized_at: in invoice.created.
  { path: 'data.object.created', types: ['number'], in: /^invoice\.created$/, mentions: /created|timestamp/ },
  { path: 'data.object.status_transitions', types: ['object'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.status_transitions.finalized_at',
    types: ['number', 'null'],
    in: INVOICE,
    mentions: /finalized_at|timestamp/,
  },
  { path: 'data.object.lines', types: ['object'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.lines.data',
    types: ['array'],
    in: INVOICE,
    knownIssue: `${TYPE_ERROR}; for null it ${WRITTEN_WITHOUT_IT}`,
  },
  {
    path: 'data.object.lines.data.*',
    types: ['object'],
    in: INVOICE,
    knownIssue: `${WRITTEN_WITHOUT_IT}; for null ${TYPE_ERROR}`,
  },
  { path: 'data.object.lines.data.*.description', types: ['string', 'null'], in: INVOICE, knownIssue: INVALID_WRITE },
  { path: 'data.object.lines.data.*.quantity', types: ['number', 'null'], in: INVOICE, knownIssue: INVALID_WRITE },
  { path: 'data.object.lines.data.*.amount', types: ['number'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.lines.data.*.currency',
    types: ['string'],
    in: INVOICE,
    knownIssue: `${TYPE_ERROR}; for null it ${WRITTEN_WITHOUT_IT}`,
  },
  { path: 'data.object.lines.data.*.pricing', types: ['object', 'null'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.lines.data.*.pricing.price_details',
    types: ['object', 'null'],
    in: INVOICE,
    knownIssue: WRITTEN_WITHOUT_IT,
  },
  {
    path: 'data.object.lines.data.*.pricing.price_details.price',
    types: ['string', 'object'],
    in: INVOICE,
    knownIssue: WRITTEN_WITHOUT_IT,
  },
  { path: 'data.object.subtotal', types: ['number'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  { path: 'data.object.total', types: ['number'], in: INVOICE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: INVOICE,
    knownIssue: `${TYPE_ERROR}; for null it ${WRITTEN_WITHOUT_IT}`,
  },
  // payment_intent.succeeded
  { path: 'data.object.amount_received', types: ['number'], in: PAYMENT_INTENT, knownIssue: INVALID_WRITE },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: PAYMENT_INTENT,
    knownIssue: `${TYPE_ERROR}; for null it ${INVALID_WRITE}`,
  },
  { path: 'data.object.created', types: ['number'], in: PAYMENT_INTENT, mentions: /created|timestamp/ },
  // charge.refunded
  { path: 'data.object.amount', types: ['number'], in: CHARGE, knownIssue: WRITTEN_WITHOUT_IT },
  {
    path: 'data.object.amount_refunded',
    types: ['number'],
    in: CHARGE,
    knownIssue: `${INVALID_WRITE}; for null it ${WRITTEN_WITHOUT_IT}`,
  },
  {
    path: 'data.object.currency',
    types: ['string'],
    in: CHARGE,
    knownIssue: `${TYPE_ERROR}; for null it ${INVALID_WRITE}`,
  },
  { path: 'data.object.created', types: ['number'], in: CHARGE, mentions: /created|timestamp/ },
  {
    path: 'data.object.payment_intent',
    types: ['string', 'object', 'null'],
    in: CHARGE,
    knownIssue: WRITTEN_WITHOUT_IT,
  },
];

/** When a customer.created or customer.updated is first delivered, whichever comes first. */
function customerKnown(names: readonly string[]): number {
  return Math.min(firstDelivery(names, 'customer.created'), firstDelivery(names, 'customer.updated'));
}

/** The newest invoice event among the delivered ones: the one whose content the Invoice ends with. */
function newestInvoiceEvent(names: readonly string[]): string | undefined {
  return STREAM.filter((name) => name.startsWith('invoice.') && names.includes(name)).at(-1);
}

/** Bugs the convergence property found (issue 6); remove an entry once src/stripe.ts is fixed. */
const KNOWN_STREAM_ISSUES: KnownStreamIssue[] = [
  {
    description:
      'customer.deleted applied before any customer.created/updated leaves the Account without name and Patient: ' +
      'the deleted mapper writes only status, and the older customer events are then stale',
    unaffected: (names) =>
      !names.includes('customer.deleted') || customerKnown(names) < firstDelivery(names, 'customer.deleted'),
    reproduction: ['customer.deleted', 'customer.created', 'customer.updated'],
  },
  {
    description:
      'Invoice.subject is copied from the Account when an invoice event is applied, so whether the Invoice gets ' +
      'its Patient depends on whether the newest invoice event was last delivered before or after the customer',
    unaffected: (names) => {
      const newest = newestInvoiceEvent(names);
      if (!newest) {
        return true;
      }
      const afterCustomerNow = lastDelivery(names, newest) > customerKnown(names);
      const afterCustomerInOrder =
        STREAM.indexOf(newest) > customerKnown(STREAM.filter((name) => names.includes(name)));
      return afterCustomerNow === afterCustomerInOrder;
    },
    reproduction: ['invoice.marked_uncollectible', 'customer.created'],
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
  personalStrings: [
    'Jenny Rosen',
    'jennyrosen@example.com',
    'jenny.rosen@example.com',
    '+15555550123',
    // The Patient id from customer metadata: it identifies a patient as much as a name does.
    '6f7e0e1c-5b1a-4c7e-9a53-3f1d2c9b8a10',
  ],
  readFields: READ_FIELDS,
  knownStreamIssues: KNOWN_STREAM_ISSUES,
};

import type { BotEvent, MedplumClient } from '@medplum/core';
import type {
  Account,
  Identifier,
  Invoice,
  InvoiceLineItem,
  Money,
  PaymentReconciliation,
  Reference,
  Patient,
} from '@medplum/fhirtypes';
import type Stripe from 'stripe';
import { PayloadError, WebhookVerificationError } from './lib/errors.ts';
import type { ResourceKey, SyncPlan, Upsert } from './lib/fhir-sync.ts';
import { syncPlans } from './lib/fhir-sync.ts';
import { describeResults, logDecision, overallOutcome } from './lib/log.ts';
import type { FieldRule, Shape } from './lib/payload.ts';
import { checkShape } from './lib/payload.ts';
import { bodyCandidates, parseJsonObject } from './lib/raw-body.ts';
import { readSigningSecrets } from './lib/secrets.ts';
import { checkTimestamp, computeHmac, findMatchingSignature, parseSignatureHeader } from './lib/signature.ts';
import { logFailures, readHeader } from './lib/webhook.ts';

const SOURCE = 'stripe';
export const STRIPE_SECRET_NAME = 'STRIPE_WEBHOOK_SECRET';
const SIGNATURE_HEADER = 'Stripe-Signature';
/** Stripe's own default replay window. */
export const STRIPE_TOLERANCE_SECONDS = 300;

/** Customer or invoice metadata key whose value is the id of the Medplum Patient the billing belongs to. */
export const PATIENT_METADATA_KEY = 'medplum_patient_id';

/** Stripe metadata: an object of strings. */
const METADATA: FieldRule = { types: ['object'], values: ['string'] };

export const STRIPE_SYSTEMS = {
  customer: 'https://stripe.com/customer',
  invoice: 'https://stripe.com/invoice',
  invoiceNumber: 'https://stripe.com/invoice-number',
  paymentIntent: 'https://stripe.com/payment_intent',
  chargeRefunds: 'https://stripe.com/charge-refunds',
  price: 'https://stripe.com/price',
} as const;

export interface StripeBotResult {
  readonly eventId: string;
  readonly eventType: string;
  readonly outcome: string;
  readonly resources: { reference: string; outcome: string }[];
}

export interface StripeHandlerOptions {
  /** Injectable clock for tests, in seconds since the epoch. */
  readonly nowSeconds?: number;
}

/**
 * Keeps a Medplum project's billing records in step with Stripe.
 *
 * Triggered by: a Stripe webhook endpoint posting to this bot's `$execute` URL (or its `/webhook` route).
 * Reads secrets: `STRIPE_WEBHOOK_SECRET` (the endpoint's `whsec_...` signing secret) and, during a
 * rotation, `STRIPE_WEBHOOK_SECRET_PREVIOUS`.
 * Writes: Account (customer.*), Invoice (invoice.*), PaymentReconciliation (payment_intent.succeeded,
 * charge.refunded). Other event types are acknowledged and logged.
 */
export async function handler(
  medplum: MedplumClient,
  event: BotEvent,
  options: StripeHandlerOptions = {}
): Promise<StripeBotResult> {
  return logFailures(SOURCE, async (delivery) => {
    const body = verifyStripeSignature(event, options.nowSeconds);
    const stripeEvent = parseStripeEvent(body);
    Object.assign(delivery, { eventId: stripeEvent.id, eventType: stripeEvent.type });
    const mapper = EVENT_MAPPERS[stripeEvent.type as MappedEventType] as Mapper<MappedEventType> | undefined;
    if (!mapper) {
      logDecision({ source: SOURCE, eventId: stripeEvent.id, eventType: stripeEvent.type, outcome: 'ignored' });
      return { eventId: stripeEvent.id, eventType: stripeEvent.type, outcome: 'ignored', resources: [] };
    }
    const [result] = await syncPlans(medplum, [mapper(stripeEvent as StripeEventOf<MappedEventType>)]);
    const outcome = overallOutcome(result);
    logDecision({
      source: SOURCE,
      eventId: result.eventId,
      eventType: result.eventType,
      outcome,
      reason: describeResults(result),
    });
    return { eventId: result.eventId, eventType: result.eventType, outcome, resources: result.resources };
  });
}

// ---- Verification ----

/**
 * Checks `Stripe-Signature` the way Stripe signs: HMAC-SHA256 of `<t>.<body>` keyed with the whole
 * `whsec_...` string, any `v1` value may match, and `t` within five minutes of now. Returns the body
 * that matched.
 */
export function verifyStripeSignature(event: BotEvent, nowSeconds?: number): string {
  const secrets = readSigningSecrets(event, STRIPE_SECRET_NAME);
  const header = readHeader(event, SIGNATURE_HEADER);
  if (!header) {
    throw new WebhookVerificationError(
      `The ${SIGNATURE_HEADER} header is missing; point only Stripe webhook endpoints at this bot.`
    );
  }
  const values = parseSignatureHeader(header, SIGNATURE_HEADER);
  const timestamp = values.get('t')?.[0];
  const provided = values.get('v1') ?? [];
  if (!timestamp || provided.length === 0) {
    throw new WebhookVerificationError(
      `The ${SIGNATURE_HEADER} header lacks a timestamp (t) or a v1 signature; check that the request came from Stripe.`
    );
  }
  const match = findMatchingSignature({
    secrets,
    bodies: bodyCandidates(event.input, { layout: 'indented' }),
    provided,
    secretName: STRIPE_SECRET_NAME,
    sign: (secret, body) =>
      computeHmac({ algorithm: 'sha256', key: secret, message: `${timestamp}.${body}`, encoding: 'hex' }),
  });
  checkTimestamp({ timestamp, toleranceSeconds: STRIPE_TOLERANCE_SECONDS, nowSeconds, headerName: SIGNATURE_HEADER });
  return match.body.text;
}

/** Reads the fields every Stripe event has; the rest is checked by each mapper as it uses it. */
export function parseStripeEvent(body: string): Stripe.Event {
  const event = parseJsonObject(body);
  const data = event.data as { object?: unknown } | undefined;
  if (
    event.object !== 'event' ||
    typeof event.id !== 'string' ||
    typeof event.type !== 'string' ||
    typeof event.created !== 'number' ||
    !isObject(data?.object)
  ) {
    throw new PayloadError(
      'The body is not a Stripe event (expected object "event" with id, type, created and data.object); ' +
        'check that the endpoint uses a snapshot (v1) event destination.'
    );
  }
  return event as unknown as Stripe.Event;
}

// ---- Mapping: one mapper per event type ----

type InvoiceEventType =
  | 'invoice.created'
  | 'invoice.finalized'
  | 'invoice.updated'
  | 'invoice.paid'
  | 'invoice.payment_failed'
  | 'invoice.voided'
  | 'invoice.marked_uncollectible';

type MappedEventType =
  | 'customer.created'
  | 'customer.updated'
  | 'customer.deleted'
  | InvoiceEventType
  | 'payment_intent.succeeded'
  | 'charge.refunded';

type StripeEventOf<T extends Stripe.Event['type']> = Extract<Stripe.Event, { type: T }>;
type Mapper<T extends MappedEventType> = (event: StripeEventOf<T>) => SyncPlan;

/** The event types this bot writes; typed by name, so a misspelt type or a wrong payload is a type error. */
const EVENT_MAPPERS: { [T in MappedEventType]: Mapper<T> } = {
  'customer.created': mapCustomer,
  'customer.updated': mapCustomer,
  'customer.deleted': mapDeletedCustomer,
  'invoice.created': mapInvoice,
  'invoice.finalized': mapInvoice,
  'invoice.updated': mapInvoice,
  'invoice.paid': mapInvoice,
  'invoice.payment_failed': mapInvoice,
  'invoice.voided': mapInvoice,
  'invoice.marked_uncollectible': mapInvoice,
  'payment_intent.succeeded': mapPaymentIntent,
  'charge.refunded': mapRefund,
};

/** The event types the Stripe dashboard should send to this bot. */
export const MAPPED_EVENT_TYPES = Object.keys(EVENT_MAPPERS) as MappedEventType[];

function planFor(event: Stripe.Event, rank: number, parts: Pick<SyncPlan, 'upserts' | 'ensures' | 'reads'>): SyncPlan {
  return { eventId: event.id, eventType: event.type, occurredAt: isoFromSeconds(event.created), rank, ...parts };
}

function customerKey(customerId: string): ResourceKey {
  return { resourceType: 'Account', system: STRIPE_SYSTEMS.customer, value: customerId };
}

/** Account type for a patient's billing account (HL7 v3 ActCode). */
const PATIENT_BILLING_ACCOUNT = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: 'PBILLACCT',
      display: 'patient billing account',
    },
  ],
};

/** The customer fields the mappers read, with the types Stripe documents (checked before use). */
const CUSTOMER_SHAPE: Shape = { name: ['string', 'null'], email: ['string', 'null'], metadata: METADATA };

/**
 * A customer's Account has two aspects, ordered separately: its status (active, or inactive once deleted)
 * and its details. So a customer.deleted that overtakes the customer's other events still leaves the
 * Account with its name and Patient, whichever order they arrive in.
 */
function mapCustomer(event: StripeEventOf<'customer.created' | 'customer.updated'>): SyncPlan {
  const customer = requireObject<Stripe.Customer>(event.data.object, 'customer', 'cus_');
  checkShape(customer as unknown as Record<string, unknown>, CUSTOMER_SHAPE, 'data.object');
  return planFor(event, 0, { upserts: [customerStatus(customer.id, 'active'), customerDetails(customer)] });
}

/**
 * A deleted customer keeps its Account for the billing history; it becomes inactive, for good. Stripe's
 * customer.deleted carries the customer as it was; a bare `{ id, deleted }` only changes the status.
 */
function mapDeletedCustomer(event: StripeEventOf<'customer.deleted'>): SyncPlan {
  const customer = requireObject<Stripe.Customer>(event.data.object, 'customer', 'cus_');
  const hasDetails = ['name', 'email', 'metadata'].some((field) => field in customer);
  if (hasDetails) {
    checkShape(customer as unknown as Record<string, unknown>, CUSTOMER_SHAPE, 'data.object');
  }
  // Deletion is final in Stripe: rank it above any update from the same second.
  const upserts = [customerStatus(customer.id, 'inactive'), ...(hasDetails ? [customerDetails(customer)] : [])];
  return planFor(event, 1, { upserts });
}

function customerStatus(customerId: string, status: Account['status']): Upsert {
  return { key: customerKey(customerId), aspect: 'status', build: (): Partial<Account> => ({ status }) };
}

function customerDetails(customer: Stripe.Customer): Upsert {
  const patient = patientReference(customer.metadata);
  return {
    key: customerKey(customer.id),
    aspect: 'details',
    build: (): Partial<Account> => ({
      type: PATIENT_BILLING_ACCOUNT,
      name: customer.name ?? customer.email ?? undefined,
      description: 'Stripe customer',
      subject: patient ? [patient] : undefined,
    }),
  };
}

/** Where an invoice is in its life; breaks ties between events from the same second. */
const INVOICE_STAGE: Record<Stripe.Invoice.Status, number> = { draft: 0, open: 1, paid: 2, void: 2, uncollectible: 2 };

const INVOICE_STATUS: Record<Stripe.Invoice.Status, Invoice['status']> = {
  draft: 'draft',
  open: 'issued',
  paid: 'balanced',
  void: 'cancelled',
  uncollectible: 'cancelled',
};

const CANCELLED_REASON: Partial<Record<Stripe.Invoice.Status, string>> = {
  void: 'Voided in Stripe',
  uncollectible: 'Marked uncollectible in Stripe',
};

/** An expanded object in place of an id (Stripe's `expand[]`). */
const EXPANDABLE: FieldRule = { types: ['string', 'object', 'null'], fields: { id: ['string'] } };

const INVOICE_LINE_SHAPE: Shape = {
  description: ['string', 'null'],
  quantity: ['integer', 'null'],
  amount: ['integer'],
  currency: ['string'],
  pricing: {
    types: ['object', 'null'],
    fields: { price_details: { types: ['object', 'null'], fields: { price: ['string', 'object'] } } },
  },
};

const INVOICE_SHAPE: Shape = {
  customer: { types: ['string', 'object', 'null'], fields: { id: ['string'], metadata: METADATA } },
  metadata: METADATA,
  number: ['string', 'null'],
  created: ['integer'],
  status_transitions: { types: ['object'], fields: { finalized_at: ['integer', 'null'] } },
  lines: {
    types: ['object'],
    fields: { data: { types: ['array'], items: { types: ['object'], fields: INVOICE_LINE_SHAPE } } },
  },
  subtotal: ['integer'],
  total: ['integer'],
  currency: ['string'],
};

/**
 * The Invoice's subject is the Patient its own data names: the invoice's metadata, or its customer's
 * when Stripe sent the customer expanded. It never depends on what else Medplum holds at the time, so
 * every delivery order ends the same; the Patient of an unnamed invoice is reachable through its Account.
 */
function mapInvoice(event: StripeEventOf<InvoiceEventType>): SyncPlan {
  const invoice = requireObject<Stripe.Invoice>(event.data.object, 'invoice', 'in_');
  checkShape(invoice as unknown as Record<string, unknown>, INVOICE_SHAPE, 'data.object');
  const status = requireInvoiceStatus(invoice.status);
  const customerId = stripeId(invoice.customer);
  const account = customerId ? customerKey(customerId) : undefined;
  return planFor(event, INVOICE_STAGE[status], {
    ensures: account ? [{ key: account, placeholder: accountPlaceholder() }] : [],
    upserts: [
      {
        key: { resourceType: 'Invoice', system: STRIPE_SYSTEMS.invoice, value: invoice.id },
        build: ({ reference }): Partial<Invoice> => ({
          identifier: invoiceIdentifiers(invoice),
          status: INVOICE_STATUS[status],
          cancelledReason: CANCELLED_REASON[status],
          account: account ? reference<Account>(account) : undefined,
          subject: patientReference(invoice.metadata) ?? expandedCustomerPatient(invoice.customer),
          date: isoFromSeconds(invoice.status_transitions?.finalized_at ?? invoice.created),
          lineItem: invoice.lines?.data?.map(toInvoiceLineItem),
          totalNet: toMoney(invoice.subtotal, invoice.currency),
          totalGross: toMoney(invoice.total, invoice.currency),
        }),
      },
    ],
  });
}

function expandedCustomerPatient(customer: Stripe.Invoice['customer']): Reference<Patient> | undefined {
  return customer && typeof customer === 'object' && 'metadata' in customer
    ? patientReference(customer.metadata)
    : undefined;
}

function invoiceIdentifiers(invoice: Stripe.Invoice): Identifier[] {
  const identifiers: Identifier[] = [{ system: STRIPE_SYSTEMS.invoice, value: invoice.id }];
  if (invoice.number) {
    identifiers.push({ system: STRIPE_SYSTEMS.invoiceNumber, value: invoice.number });
  }
  return identifiers;
}

/**
 * Stripe embeds at most the first page of lines in an event (`lines.has_more`); an invoice with more
 * lines gets only those, and its totals stay right because they come from the invoice itself.
 */
function toInvoiceLineItem(line: Stripe.InvoiceLineItem, index: number): InvoiceLineItem {
  const price = line.pricing?.price_details?.price;
  return {
    sequence: index + 1,
    chargeItemCodeableConcept: {
      text: line.description ?? 'Stripe invoice line',
      coding: typeof price === 'string' ? [{ system: STRIPE_SYSTEMS.price, code: price }] : undefined,
    },
    priceComponent: [{ type: 'base', factor: line.quantity ?? undefined, amount: toMoney(line.amount, line.currency) }],
  };
}

/** Until the customer's own event arrives, an invoice points at this Account; that event fills it in. */
function accountPlaceholder(): Account {
  return { resourceType: 'Account', status: 'active', type: PATIENT_BILLING_ACCOUNT, description: 'Stripe customer' };
}

const PAYMENT_INTENT_SHAPE: Shape = { created: ['integer'], amount_received: ['integer'], currency: ['string'] };

const CHARGE_SHAPE: Shape = {
  created: ['integer'],
  amount: ['integer'],
  amount_refunded: ['integer'],
  currency: ['string'],
  payment_intent: EXPANDABLE,
};

const PAYMENT_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/payment-type';
/** FHIR's integer is 32-bit; a rank only breaks ties, so amounts beyond it share the top rank. */
const MAX_RANK = 2 ** 31 - 1;

/** Money that moved in Stripe, as FHIR's PaymentReconciliation: a payment received, or refunds given. */
interface MoneyMovement {
  readonly key: ResourceKey;
  /** When Stripe created the object the money moved on, in seconds. */
  readonly created: number;
  readonly amount: Money | undefined;
  readonly paymentIntentId: string | undefined;
  readonly disposition: string;
  readonly kind: 'payment' | 'adjustment';
}

function movementPlan(event: Stripe.Event, rank: number, movement: MoneyMovement): SyncPlan {
  const { key, created, amount, paymentIntentId, disposition, kind } = movement;
  return planFor(event, Math.min(rank, MAX_RANK), {
    upserts: [
      {
        key,
        build: (): Partial<PaymentReconciliation> => ({
          status: 'active',
          created: isoFromSeconds(created),
          paymentDate: dateFromSeconds(event.created),
          paymentAmount: amount,
          paymentIdentifier: paymentIntentId
            ? { system: STRIPE_SYSTEMS.paymentIntent, value: paymentIntentId }
            : undefined,
          outcome: 'complete',
          disposition,
          detail: [{ type: { coding: [{ system: PAYMENT_TYPE_SYSTEM, code: kind }] }, amount }],
        }),
      },
    ],
  });
}

/**
 * A succeeded PaymentIntent is money received: a PaymentReconciliation (FHIR's record of a payment and
 * what it settles) identified by the PaymentIntent id.
 */
function mapPaymentIntent(event: StripeEventOf<'payment_intent.succeeded'>): SyncPlan {
  const intent = requireObject<Stripe.PaymentIntent>(event.data.object, 'payment_intent', 'pi_');
  checkShape(intent as unknown as Record<string, unknown>, PAYMENT_INTENT_SHAPE, 'data.object');
  return movementPlan(event, 0, {
    key: { resourceType: 'PaymentReconciliation', system: STRIPE_SYSTEMS.paymentIntent, value: intent.id },
    created: intent.created,
    amount: toMoney(intent.amount_received, intent.currency),
    paymentIntentId: intent.id,
    disposition: 'Payment succeeded in Stripe',
    kind: 'payment',
  });
}

/**
 * Refunds of a charge are one PaymentReconciliation per charge holding the refunded total (negative).
 * Stripe's `amount_refunded` only grows, so it ranks refunds that happened in the same second.
 */
function mapRefund(event: StripeEventOf<'charge.refunded'>): SyncPlan {
  const charge = requireObject<Stripe.Charge>(event.data.object, 'charge', 'ch_');
  checkShape(charge as unknown as Record<string, unknown>, CHARGE_SHAPE, 'data.object');
  const fully = charge.amount_refunded >= charge.amount;
  return movementPlan(event, charge.amount_refunded, {
    key: { resourceType: 'PaymentReconciliation', system: STRIPE_SYSTEMS.chargeRefunds, value: charge.id },
    created: charge.created,
    amount: toMoney(-charge.amount_refunded, charge.currency),
    paymentIntentId: stripeId(charge.payment_intent),
    disposition: fully ? 'Charge fully refunded in Stripe' : 'Charge partially refunded in Stripe',
    kind: 'adjustment',
  });
}

// ---- Small readers and converters ----

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks the object an event carries before a mapper reads it. */
function requireObject<T extends { id: string }>(value: unknown, objectType: string, idPrefix: string): T {
  const object = value as { object?: unknown; id?: unknown };
  if (object.object !== objectType || typeof object.id !== 'string' || !object.id.startsWith(idPrefix)) {
    throw new PayloadError(
      `The event's data.object is not a Stripe ${objectType} (expected object "${objectType}" with an id ` +
        `starting ${idPrefix}); check the endpoint's API version.`
    );
  }
  return value as T;
}

function requireInvoiceStatus(status: Stripe.Invoice['status']): Stripe.Invoice.Status {
  if (!status || !(status in INVOICE_STATUS)) {
    throw new PayloadError(
      `The invoice has an unknown status; expected one of ${Object.keys(INVOICE_STATUS).join(', ')}.`
    );
  }
  return status;
}

/** Stripe fields that may hold an id or, when expanded, the object. */
function stripeId(value: string | { id: string } | null | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.id;
}

/** Links billing to a Patient only when the metadata names one with a valid FHIR id; never invents one. */
function patientReference(metadata: Stripe.Metadata | null | undefined): Reference<Patient> | undefined {
  const id = metadata?.[PATIENT_METADATA_KEY]?.trim();
  return id && /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? { reference: `Patient/${id}` } : undefined;
}

/** Currencies whose smallest unit is the unit itself (Stripe's list of zero-decimal currencies). */
const ZERO_DECIMAL_CURRENCIES = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
/** Currencies that Stripe counts in thousandths. */
const THREE_DECIMAL_CURRENCIES = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Converts Stripe's integer amount in the currency's smallest unit to FHIR Money in major units. */
export function toMoney(amount: number | null | undefined, currency: string | null | undefined): Money | undefined {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || !currency) {
    return undefined;
  }
  const code = currency.toLowerCase();
  const decimals = ZERO_DECIMAL_CURRENCIES.has(code) ? 0 : THREE_DECIMAL_CURRENCIES.has(code) ? 3 : 2;
  return {
    value: Number((amount / 10 ** decimals).toFixed(decimals)),
    currency: code.toUpperCase() as Money['currency'],
  };
}

function isoFromSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) {
    throw new PayloadError('A Stripe timestamp is not a number of seconds; check the endpoint API version.');
  }
  return new Date(seconds * 1000).toISOString();
}

function dateFromSeconds(seconds: number): string {
  return isoFromSeconds(seconds).slice(0, 10);
}

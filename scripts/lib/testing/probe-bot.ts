// A tiny Stripe-shaped bot for the runner's own tests, so they do not depend on the real bots: it verifies
// `Stripe-Signature` with STRIPE_WEBHOOK_SECRET, upserts one Account per customer id, and, when asked with an
// `x-probe: event` header, returns what it was given and which globals it sees. It is bundled at test time
// like a real bot. Built with PROBE_SKIPS_VERIFICATION=true, it accepts any signature: the demo must notice.
import type { BotEvent, MedplumClient } from '@medplum/core';
import type { Account, Bundle } from '@medplum/fhirtypes';
import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

declare const PROBE_SKIPS_VERIFICATION: boolean;

const CUSTOMER_SYSTEM = 'https://stripe.com/customer';
/** The globals a bot might reach for; Medplum's VM context has only some of them. */
const GLOBALS = [
  'console',
  'fetch',
  'require',
  'ContentType',
  'Hl7Message',
  'MedplumClient',
  'TextEncoder',
  'TextDecoder',
  'URL',
  'URLSearchParams',
  'Buffer',
  'process',
  'setTimeout',
  'crypto',
  'structuredClone',
];

interface StripeLikeEvent {
  id: string;
  type: string;
  data: { object: { id: string; name?: string } };
}

export async function handler(medplum: MedplumClient, event: BotEvent): Promise<unknown> {
  const headers = (event.headers ?? {}) as Record<string, string | undefined>;
  const probe = headers['x-probe'];
  if (probe === 'event') {
    return describeEvent(event);
  }
  const body = typeof event.input === 'string' ? event.input : JSON.stringify(event.input, null, 2);
  verify(body, headers['stripe-signature'], event.secrets.STRIPE_WEBHOOK_SECRET?.valueString);
  const stripeEvent = JSON.parse(body) as StripeLikeEvent;
  const customer = stripeEvent.data.object;
  const account: Account = {
    resourceType: 'Account',
    // Account.status is required: leaving it out is a write a Medplum server refuses.
    status: probe === 'invalid-write' ? undefined : 'active',
    identifier: [{ system: CUSTOMER_SYSTEM, value: customer.id }],
    name: customer.name,
  } as Account;
  const response = await medplum.executeBatch({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: account,
        request: { method: 'POST', url: 'Account', ifNoneExist: `identifier=${CUSTOMER_SYSTEM}|${customer.id}` },
      },
    ],
  } as Bundle);
  return summarize(stripeEvent, response);
}

function verify(body: string, header: string | undefined, secret: string | undefined): void {
  if (PROBE_SKIPS_VERIFICATION) {
    return;
  }
  if (!secret) {
    throw new Error('STRIPE_WEBHOOK_SECRET is not set; set it in the project secrets.');
  }
  const timestamp = /t=(\d+)/.exec(header ?? '')?.[1];
  const signature = /v1=([0-9a-f]+)/.exec(header ?? '')?.[1] ?? '';
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  const matches =
    signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  if (!timestamp || !matches) {
    throw new Error('No signature matched; check STRIPE_WEBHOOK_SECRET.');
  }
}

function summarize(stripeEvent: StripeLikeEvent, response: Bundle): unknown {
  const entry = response.entry?.[0]?.response;
  const status = entry?.status ?? 'none';
  if (!status.startsWith('20')) {
    throw new Error(`The Account write failed with status ${status}.`);
  }
  const outcome = status.startsWith('201') ? 'created' : 'unchanged';
  const reference = entry?.location?.split('/_history')[0] ?? 'Account';
  console.log(`[probe] ${stripeEvent.id} ${stripeEvent.type}: ${outcome} ${reference}`);
  return {
    eventId: stripeEvent.id,
    eventType: stripeEvent.type,
    outcome: outcome === 'created' ? 'written' : 'unchanged',
    resources: [{ reference, outcome }],
  };
}

function describeEvent(event: BotEvent): unknown {
  const scope = globalThis as Record<string, unknown>;
  return {
    input: event.input,
    inputType: typeof event.input,
    contentType: event.contentType,
    headerNames: Object.keys(event.headers ?? {}),
    customHeader: (event.headers as Record<string, unknown>)['x-custom-header'],
    secretNames: Object.keys(event.secrets),
    bot: event.bot,
    requester: event.requester,
    traceId: event.traceId,
    globals: GLOBALS.filter((name) => scope[name] !== undefined),
  };
}

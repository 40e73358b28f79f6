// The Stripe bot as it would be with the Stripe SDK bundled in: it verifies with the SDK's
// `Stripe.webhooks.constructEvent`, as Medplum's guide to consuming webhooks advises, then maps and writes with ours.
// The benchmark bundles it into a temp folder to weigh the SDK; it is never built into dist/ or deployed.
// It still holds our own verifier (about 6 KiB of the bundle), so it overstates the SDK's weight by that much.
import type { BotEvent, MedplumClient } from '@medplum/core';
import Stripe from 'stripe';
import { handler as mapAndWrite, STRIPE_SECRET_NAME } from '../../../src/stripe.ts';

export async function handler(medplum: MedplumClient, event: BotEvent): Promise<unknown> {
  const secret = event.secrets[STRIPE_SECRET_NAME]?.valueString ?? '';
  const signature = (event.headers as Record<string, string | undefined>)['stripe-signature'] ?? '';
  Stripe.webhooks.constructEvent(event.input as string, signature, secret);
  return mapAndWrite(medplum, event);
}

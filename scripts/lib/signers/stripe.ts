// Stripe signs `<t>.<body>` with HMAC-SHA256 keyed by the endpoint's whole `whsec_...` secret and sends
// `Stripe-Signature: t=<unix seconds>,v1=<hex>` with a pretty-printed JSON body. The stripe SDK's own test
// header generator does the signing, so a delivery from here is one Stripe itself would accept.
import Stripe from 'stripe';
import type { Delivery, SignInput, Signer } from './signer.ts';
import { requireSecret } from './signer.ts';

const SECRET_NAME = 'STRIPE_WEBHOOK_SECRET';

export const stripeSigner: Signer = {
  source: 'stripe',
  vendor: 'Stripe',
  secretName: SECRET_NAME,
  demoSecrets: { [SECRET_NAME]: 'whsec_demo_local_runner_not_a_real_secret' },
  sign({ payload, secrets, nowSeconds }: SignInput): Delivery {
    // Stripe sends its API's formatting: JSON indented by two spaces, no trailing newline.
    const body = JSON.stringify(payload, null, 2);
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: requireSecret(secrets, SECRET_NAME),
      timestamp: nowSeconds,
    });
    return {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'Stripe-Signature': signature,
      },
      body,
    };
  },
  occurredAt(payload: unknown): number | undefined {
    const created = (payload as { created?: unknown } | null)?.created;
    return typeof created === 'number' ? created * 1000 : undefined;
  },
};

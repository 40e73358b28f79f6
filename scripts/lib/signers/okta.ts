// Okta event hooks carry no signature: every request, the one-time verification GET included, sends a
// static secret in a header the admin chooses in Okta. On `$execute` that cannot be `Authorization` (it
// holds Medplum's Basic credentials), so the bot reads the header named by OKTA_WEBHOOK_SECRET_HEADER,
// `x-okta-webhook-secret` by default (see src/okta.ts). Deliveries are compact JSON with `data.events[]`.
import { randomBytes } from 'node:crypto';
import type { Delivery, Handshake, SignInput, Signer } from './signer.ts';
import { requireSecret } from './signer.ts';

const SECRET_NAME = 'OKTA_WEBHOOK_SECRET';
const HEADER_SETTING = 'OKTA_WEBHOOK_SECRET_HEADER';
const DEFAULT_SECRET_HEADER = 'x-okta-webhook-secret';
const CHALLENGE_HEADER = 'x-okta-verification-challenge';

function secretHeaders(secrets: SignInput['secrets']): Record<string, string> {
  return { [secrets[HEADER_SETTING] || DEFAULT_SECRET_HEADER]: requireSecret(secrets, SECRET_NAME) };
}

/** Okta's one-time GET when an event hook is verified: the bot must echo the challenge as `{"verification"}`. */
const verification: Handshake = {
  name: 'verification',
  description: 'challenge echoed',
  prepare({ secrets }) {
    const challenge = randomBytes(30).toString('base64url');
    const delivery: Delivery = {
      method: 'GET',
      headers: { Accept: 'application/json', [CHALLENGE_HEADER]: challenge, ...secretHeaders(secrets) },
    };
    return {
      delivery,
      check(status, body) {
        if (status !== 200) {
          return `expected HTTP 200 for the verification request, got ${status}`;
        }
        const answer = safeJson(body) as { verification?: unknown } | undefined;
        const echoed = answer?.verification === challenge;
        return echoed ? undefined : 'the answer does not echo the challenge as {"verification": "..."}';
      },
    };
  },
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const oktaSigner: Signer = {
  source: 'okta',
  vendor: 'Okta',
  secretName: SECRET_NAME,
  demoSecrets: { [SECRET_NAME]: 'okta-demo-shared-secret-not-a-real-one' },
  settingNames: [HEADER_SETTING],
  sign({ payload, secrets }: SignInput): Delivery {
    return {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...secretHeaders(secrets) },
      body: JSON.stringify(payload),
    };
  },
  occurredAt(payload: unknown): number | undefined {
    const time = Date.parse(String((payload as { eventTime?: unknown } | null)?.eventTime));
    return Number.isNaN(time) ? undefined : time;
  },
  handshakes: [verification],
};

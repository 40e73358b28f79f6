import { Buffer } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BodyCandidate } from './raw-body.ts';
import { WebhookVerificationError } from './errors.ts';

export type HmacAlgorithm = 'sha1' | 'sha256';
export type SignatureEncoding = 'hex' | 'base64';

export interface HmacOptions {
  readonly algorithm: HmacAlgorithm;
  readonly key: string | Uint8Array;
  readonly message: string;
  readonly encoding: SignatureEncoding;
}

/** Computes an HMAC of a UTF-8 message and encodes it as the vendor sends it. */
export function computeHmac({ algorithm, key, message, encoding }: HmacOptions): string {
  return createHmac(algorithm, key).update(message, 'utf8').digest(encoding);
}

/**
 * Compares two strings in constant time, so response timing does not reveal how many leading
 * characters of a forged signature were right. Different lengths are not secret and return early.
 */
export function safeEqual(actual: string, expected: string): boolean {
  const actualBytes = Buffer.from(actual, 'utf8');
  const expectedBytes = Buffer.from(expected, 'utf8');
  if (actualBytes.length !== expectedBytes.length) {
    return false;
  }
  return timingSafeEqual(actualBytes, expectedBytes);
}

/**
 * Parses a `t=1700000000,v1=abc,v1=def` style header into its values by key, keeping every repeated
 * key (vendors send several signatures while keys rotate). Throws when no `key=value` pair is found.
 */
export function parseSignatureHeader(header: string, headerName: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const pair of header.split(',')) {
    const separator = pair.indexOf('=');
    if (separator <= 0) {
      continue;
    }
    const key = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  if (values.size === 0) {
    throw new WebhookVerificationError(
      `The ${headerName} header is malformed (expected key=value pairs); check that the request came from the vendor.`
    );
  }
  return values;
}

export interface TimestampCheck {
  /** The timestamp the vendor signed, in seconds since the epoch, as sent. */
  readonly timestamp: string | undefined;
  readonly toleranceSeconds: number;
  /** Injectable clock for tests; defaults to the current time. */
  readonly nowSeconds?: number;
  readonly headerName: string;
}

/**
 * Rejects a signed timestamp outside the replay window, in both directions: a stale one may be a
 * replayed capture, a far-future one a forged clock.
 */
export function checkTimestamp({ timestamp, toleranceSeconds, nowSeconds, headerName }: TimestampCheck): number {
  const signedAt = timestamp !== undefined && /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
  if (Number.isNaN(signedAt)) {
    throw new WebhookVerificationError(
      `The ${headerName} header has no valid timestamp; check that the request came from the vendor.`
    );
  }
  const now = nowSeconds ?? Math.floor(Date.now() / 1000);
  const skewSeconds = now - signedAt;
  if (skewSeconds > toleranceSeconds) {
    throw new WebhookVerificationError(
      `The signed timestamp is ${skewSeconds} s old, beyond the ${toleranceSeconds} s tolerance; ` +
        'this may be a replay. If the server clock is right, let the vendor redeliver the event.'
    );
  }
  if (-skewSeconds > toleranceSeconds) {
    throw new WebhookVerificationError(
      `The signed timestamp is ${-skewSeconds} s in the future, beyond the ${toleranceSeconds} s tolerance; ` +
        "check the server's clock."
    );
  }
  return signedAt;
}

export interface SignatureMatch {
  readonly body: BodyCandidate;
  /** 0 for the current secret, 1 for the previous one during a rotation. */
  readonly secretIndex: number;
}

export interface FindSignatureOptions {
  /** Current secret first, then the previous one during a rotation. */
  readonly secrets: readonly string[];
  readonly bodies: readonly BodyCandidate[];
  /** Every signature the request carried; any one of them may match. */
  readonly provided: readonly string[];
  /** Computes the signature the vendor would have sent for this body and secret. */
  readonly sign: (secret: string, body: string) => string;
  /** The bot secret to blame when nothing matches. */
  readonly secretName: string;
}

/**
 * Finds the secret and body that produce one of the provided signatures. The error names the bodies
 * that were tried, never a signature: the expected value would let a caller forge the next request.
 */
export function findMatchingSignature(options: FindSignatureOptions): SignatureMatch {
  const { secrets, bodies, provided, sign, secretName } = options;
  for (const body of bodies) {
    for (const [secretIndex, secret] of secrets.entries()) {
      const expected = sign(secret, body.text);
      if (provided.some((signature) => safeEqual(signature, expected))) {
        return { body, secretIndex };
      }
    }
  }
  const tried = bodies.map((body) => body.label).join('; ');
  throw new WebhookVerificationError(
    `No signature matched (checked against: ${tried}). Check ${secretName} in the project's bot secrets; ` +
      'if it is right, deliver the raw body (the /webhook route with webhookRawBodyEnabled, or text/plain).'
  );
}

// Signs a sample as its vendor would and posts it to a Medplum route: the local runner's, or a real project's.
import type { ClientCredentials } from './basic-auth.ts';
import { basicAuthorization, splitUrlCredentials } from './basic-auth.ts';
import type { Delivery, Signer } from './signers/index.ts';

/** How long `send` and `demo` wait for an answer; Medplum stops a VM-context bot after 10 s. */
const TIMEOUT_MS = 30_000;

export interface SignSampleOptions {
  readonly signer: Signer;
  readonly payload: unknown;
  readonly secrets: Readonly<Record<string, string | undefined>>;
  /** Sign with a wrong secret: the delivery a forger would make. The bot must refuse it. */
  readonly tampered?: boolean;
  readonly nowSeconds?: number;
}

export function signSample({ signer, payload, secrets, tampered, nowSeconds }: SignSampleOptions): Delivery {
  const used = tampered ? { ...secrets, [signer.secretName]: `${secrets[signer.secretName] ?? ''}_tampered` } : secrets;
  return signer.sign({ payload, secrets: used, nowSeconds: nowSeconds ?? Math.floor(Date.now() / 1000) });
}

export interface PostOptions {
  /** A `$execute` or `/webhook` URL; `https://ID:SECRET@host/...` credentials become Basic auth. */
  readonly url: string;
  readonly delivery: Delivery;
  /** Basic auth for `$execute` when the URL carries none. */
  readonly credentials?: ClientCredentials;
}

export interface PostResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly durationMs: number;
}

export async function postDelivery({ url, delivery, credentials }: PostOptions): Promise<PostResult> {
  const target = splitUrlCredentials(url);
  const auth = target.credentials ?? credentials;
  const headers: Record<string, string> = { ...delivery.headers };
  if (auth) {
    headers.Authorization = basicAuthorization(auth);
  }
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: delivery.method,
      headers,
      body: delivery.body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`Could not reach ${target.url} (${describeFetchError(err)}); is the runner up (npm start)?`, {
      cause: err,
    });
  }
  const body = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body,
    durationMs: Math.round(performance.now() - started),
  };
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** Parses a JSON answer, or returns undefined for any other body. */
export function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The cause of a 400 answer from a bot: the message of its "Unhandled error" line, or the first issue text. */
export function refusalReason(body: string): string {
  const outcome = parseJsonBody(body) as { issue?: { details?: { text?: string } }[] } | undefined;
  const text = outcome?.issue?.[0]?.details?.text ?? body;
  const unhandled = /Unhandled error: ([^\n]*)/.exec(text);
  return (unhandled ? unhandled[1] : text.split('\n')[0]).trim();
}

// HTTP Basic auth as a vendor dashboard sends it to `$execute`: `https://ID:SECRET@host/...` becomes
// `Authorization: Basic base64(ID:SECRET)`, where ID and SECRET are a Medplum ClientApplication's.
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The local runner's stand-in ClientApplication, unless LOCAL_CLIENT_ID / LOCAL_CLIENT_SECRET say otherwise. */
export const DEFAULT_LOCAL_CREDENTIALS: ClientCredentials = {
  clientId: 'local-webhook-client',
  clientSecret: 'local-webhook-secret',
};

export function localCredentials(env: Readonly<Record<string, string | undefined>> = process.env): ClientCredentials {
  return {
    clientId: env.LOCAL_CLIENT_ID || DEFAULT_LOCAL_CREDENTIALS.clientId,
    clientSecret: env.LOCAL_CLIENT_SECRET || DEFAULT_LOCAL_CREDENTIALS.clientSecret,
  };
}

export function basicAuthorization({ clientId, clientSecret }: ClientCredentials): string {
  return 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
}

/** Reads `Authorization: Basic ...`; undefined when absent or not Basic. */
export function parseBasicAuthorization(header: string | undefined): ClientCredentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) {
    return undefined;
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) {
    return undefined;
  }
  return { clientId: decoded.slice(0, separator), clientSecret: decoded.slice(separator + 1) };
}

/** True when the header carries exactly these credentials. */
export function isAuthorized(header: string | undefined, expected: ClientCredentials): boolean {
  const given = parseBasicAuthorization(header);
  if (!given) {
    return false;
  }
  // Both halves are always compared, in constant time, so timing tells nothing about which one was wrong.
  const idMatches = constantTimeEqual(given.clientId, expected.clientId);
  const secretMatches = constantTimeEqual(given.clientSecret, expected.clientSecret);
  return idMatches && secretMatches;
}

function constantTimeEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Splits `https://ID:SECRET@host/path` into a URL without credentials (fetch refuses those) and the pair. */
export function splitUrlCredentials(url: string): { url: string; credentials?: ClientCredentials } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) {
    return { url: parsed.toString() };
  }
  const credentials = {
    clientId: decodeURIComponent(parsed.username),
    clientSecret: decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials };
}

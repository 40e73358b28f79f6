import { PayloadError } from './errors.ts';

/** A text the vendor may have signed, and how we obtained it (for error messages). */
export interface BodyCandidate {
  readonly label: string;
  readonly text: string;
}

const NON_ASCII = /[\u007f-\uffff]/;
const ALL_NON_ASCII = /[\u007f-\uffff]/g;

/**
 * The texts to check a signature against. A string input is the body exactly as sent. When Medplum has
 * already parsed the JSON (`$execute` with `application/json`), the original bytes are gone: we try the
 * serialisations vendors commonly produce. Number formatting or key order that differs from the vendor's
 * cannot be recovered, which is why the README recommends the raw-body route.
 */
export function bodyCandidates(input: unknown): BodyCandidate[] {
  if (typeof input === 'string') {
    return [{ label: 'the raw request body', text: input }];
  }
  if (input === null || typeof input !== 'object') {
    return [];
  }
  const [compact, indented] = [reserialise(input), reserialise(input, 2)];
  const candidates = [
    { label: 'JSON re-serialised compactly', text: compact },
    { label: 'JSON re-serialised with 2-space indentation', text: indented },
  ];
  if (NON_ASCII.test(compact)) {
    candidates.push(
      { label: 'compact JSON with \\u-escaped non-ASCII', text: escapeNonAscii(compact) },
      { label: 'indented JSON with \\u-escaped non-ASCII', text: escapeNonAscii(indented) }
    );
  }
  return candidates;
}

function reserialise(input: object, indent?: number): string {
  try {
    return JSON.stringify(input, null, indent);
  } catch {
    // JSON.stringify recurses: a body nested tens of thousands of levels deep exhausts the stack.
    throw new PayloadError('The JSON body is nested too deeply to verify; no vendor sends such a body.');
  }
}

function escapeNonAscii(json: string): string {
  return json.replace(ALL_NON_ASCII, (char) => '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Parses a verified body into an object, or says why it cannot be read. */
export function parseJsonObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PayloadError('The request body is not valid JSON; the vendor should send application/json.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadError('The request body is JSON but not an object; check the webhook endpoint configuration.');
  }
  return parsed as Record<string, unknown>;
}

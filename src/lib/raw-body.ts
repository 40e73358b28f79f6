import { PayloadError } from './errors.ts';

/** A text the vendor may have signed, and how we obtained it (for error messages). */
export interface BodyCandidate {
  readonly label: string;
  readonly text: string;
}

const NON_ASCII = /[\u007f-\uffff]/;
const ALL_NON_ASCII = /[\u007f-\uffff]/g;

export interface BodyCandidateOptions {
  /** The layout the vendor sends (Stripe indents with two spaces), tried first. Default: compact. */
  readonly layout?: 'compact' | 'indented';
}

/**
 * The texts to check a signature against. A string input is the body exactly as sent. When Medplum has
 * already parsed the JSON (`$execute` with `application/json`), the original bytes are gone: we try the
 * serialisations vendors commonly produce, the vendor's own layout first, each computed only if needed.
 * Number formatting or key order that differs from the vendor's cannot be recovered, which is why the
 * README recommends the raw-body route.
 */
export function bodyCandidates(input: unknown, options: BodyCandidateOptions = {}): BodyCandidate[] {
  if (typeof input === 'string') {
    return [{ label: 'the raw request body', text: input }];
  }
  if (input === null || typeof input !== 'object') {
    return [];
  }
  const compact = lazyCandidate('JSON re-serialised compactly', () => reserialise(input));
  const indented = lazyCandidate('JSON re-serialised with 2-space indentation', () => reserialise(input, 2));
  const layouts = options.layout === 'indented' ? [indented, compact] : [compact, indented];
  if (!NON_ASCII.test(layouts[0].text)) {
    return layouts;
  }
  const escaped = layouts.map(({ label, text }) =>
    lazyCandidate(`${label}, non-ASCII \\u-escaped`, () => escapeNonAscii(text))
  );
  return [...layouts, ...escaped];
}

/** A candidate whose text is computed on first use: most deliveries match the first candidate. */
function lazyCandidate(label: string, compute: () => string): BodyCandidate {
  let text: string | undefined;
  return {
    label,
    get text(): string {
      text ??= compute();
      return text;
    },
  };
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

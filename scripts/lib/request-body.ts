// Turns an HTTP request into a bot's `event.input` the way Medplum's server does before it runs a bot.
import { MIMEType } from 'node:util';

/** Medplum's JSON parser handles these types; on `$execute` they reach the bot as a parsed object. */
const JSON_TYPES = new Set(['application/json', 'application/fhir+json', 'application/scim+json']);
/** Medplum's text parser handles these; the bot gets the body as a string. */
const TEXT_TYPES = new Set(['text/plain', 'x-application/hl7-v2+er7']);
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A request body the server refuses to parse: Medplum answers 400 before any bot runs. */
export class UnreadableBodyError extends Error {}

/** The media type without parameters, lower-case (`application/json; charset=utf-8` -> `application/json`). */
export function mediaType(contentType: string | undefined): string | undefined {
  if (!contentType) {
    return undefined;
  }
  try {
    return new MIMEType(contentType).essence;
  } catch {
    return contentType.split(';')[0].trim().toLowerCase();
  }
}

function charset(contentType: string | undefined): string | undefined {
  try {
    return new MIMEType(contentType ?? '').params.get('charset')?.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The input of a `POST .../$execute`: JSON parsed (the raw bytes are gone), text as a string, a form as a
 * flat object (a repeated key becomes an array), anything else as `{}`.
 */
export function executeInput(body: string, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type && JSON_TYPES.has(type)) {
    return parseJson(body);
  }
  if (type && TEXT_TYPES.has(type)) {
    return body;
  }
  if (type === FORM_TYPE) {
    return flatObject(new URLSearchParams(body));
  }
  return {};
}

/**
 * The input of a `POST /webhook/{id}` to a Bot with `webhookRawBodyEnabled: true`: UTF-8 JSON arrives as the
 * original text, so the bot can verify the signature over the exact bytes the vendor signed. Other content
 * types (and JSON in another charset) are parsed as on `$execute`.
 */
export function rawWebhookInput(body: string, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  const utf8 = (charset(contentType) ?? 'utf-8') === 'utf-8';
  if (type && JSON_TYPES.has(type) && utf8) {
    return body;
  }
  return executeInput(body, contentType);
}

/** The input of a `GET .../$execute`: the query string as a flat object. */
export function queryInput(search: URLSearchParams): Record<string, string | string[]> {
  return flatObject(search);
}

function parseJson(body: string): unknown {
  // Like Medplum's JSON parser: BOM stripped, an empty body is `{}`, only an object or array is accepted.
  const text = body.replace(/^\uFEFF/, '');
  if (text.trim().length === 0) {
    return {};
  }
  if (!/^[ \t\r\n]*[{[]/.test(text)) {
    throw new UnreadableBodyError('Content could not be parsed: expected a JSON object or array.');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UnreadableBodyError('Content could not be parsed: the body is not valid JSON.');
  }
}

function flatObject(params: URLSearchParams): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    result[key] = values.length === 1 ? values[0] : values;
  }
  return result;
}

// Hostile deliveries: mutations of a correctly signed request, as data (so a failing case prints
// readably and shrinks), and what the bot must do with each. Large bodies are described by their size
// and built when the case runs, so a counterexample never prints megabytes.
import fc from 'fast-check';
import type { BotUnderTest, InputShape, JsonType, ReadField, SignedRequest } from './harness.ts';
import { nowSeconds, shapeArbitrary } from './harness.ts';

/** Changes to a request after it was signed: an attacker without the secret can make all of these. */
export type Forgery =
  | {
      readonly kind: 'body edit';
      readonly sample: string;
      readonly shape: InputShape;
      readonly edits: readonly BodyEdit[];
    }
  | {
      readonly kind: 'header change';
      readonly sample: string;
      readonly shape: InputShape;
      readonly header: string;
      readonly change: HeaderChange;
    }
  | { readonly kind: 'header removed'; readonly sample: string; readonly shape: InputShape; readonly header: string }
  | {
      readonly kind: 'signed outside the replay window';
      readonly sample: string;
      readonly shape: InputShape;
      readonly offsetSeconds: number;
    }
  | { readonly kind: 'content type'; readonly sample: string; readonly contentType: string }
  | {
      readonly kind: 'oversized body';
      readonly sample: string;
      readonly megabytes: number;
      readonly filler: string;
      readonly keepOriginal: boolean;
    };

export interface BodyEdit {
  readonly at: number;
  readonly op: 'replace' | 'insert' | 'delete';
  readonly text: string;
}

export type HeaderChange =
  | { readonly op: 'empty' }
  | { readonly op: 'replace'; readonly value: string }
  | { readonly op: 'character'; readonly at: number; readonly text: string }
  | { readonly op: 'truncate'; readonly keep: number }
  | { readonly op: 'number'; readonly which: number; readonly value: number };

/** Bodies signed with the right secret that the bot still cannot read: a vendor bug or a new format. */
export type BadPayload =
  | { readonly kind: 'not JSON'; readonly text: string }
  | { readonly kind: 'truncated JSON'; readonly sample: string; readonly keep: number }
  | { readonly kind: 'JSON but not an object'; readonly value: unknown; readonly shape: InputShape }
  | {
      readonly kind: 'deeply nested JSON';
      readonly depth: number;
      readonly opener: '[' | '{"a":';
      readonly at: 'body' | 'data';
      readonly sample: string;
      readonly shape: InputShape;
    }
  | { readonly kind: 'oversized non-JSON'; readonly megabytes: number; readonly filler: string };

export interface WrongType {
  readonly kind: 'wrong JSON type';
  readonly sample: string;
  /** A concrete path (array indexes filled in). */
  readonly path: string;
  readonly value: unknown;
  readonly shape: InputShape;
}

/** Content types under which Medplum hands the bot something other than the signed JSON text. */
const FOREIGN_CONTENT_TYPES = [
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/html',
  '',
];

// ---- Forgeries ----

export function forgeryArbitrary(bot: BotUnderTest): fc.Arbitrary<Forgery> {
  const sample = fc.constantFrom(...[...bot.samples, ...bot.ignoredSamples].map((s) => s.name));
  const header = fc.constantFrom(...bot.credentialHeaders);
  const printable = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 });
  const edit: fc.Arbitrary<BodyEdit> = fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const),
    text: fc.oneof(printable, fc.string({ minLength: 1, maxLength: 2 })),
  });
  const change: fc.Arbitrary<HeaderChange> = fc.oneof(
    fc.constant({ op: 'empty' as const }),
    fc.record({ op: fc.constant('replace' as const), value: fc.string({ maxLength: 80 }) }),
    fc.record({ op: fc.constant('character' as const), at: fc.nat(), text: printable }),
    fc.record({ op: fc.constant('truncate' as const), keep: fc.nat() }),
    fc.record({ op: fc.constant('number' as const), which: fc.nat({ max: 3 }), value: fc.nat() })
  );
  const kinds: fc.Arbitrary<Forgery>[] = [
    fc.record({
      kind: fc.constant('body edit' as const),
      sample,
      shape: shapeArbitrary,
      edits: fc.array(edit, { minLength: 1, maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('header change' as const), sample, shape: shapeArbitrary, header, change }),
    fc.record({ kind: fc.constant('header removed' as const), sample, shape: shapeArbitrary, header }),
    fc.record({
      kind: fc.constant('content type' as const),
      sample,
      contentType: fc.constantFrom(...FOREIGN_CONTENT_TYPES),
    }),
    fc.record({
      kind: fc.constant('oversized body' as const),
      sample,
      megabytes: fc.integer({ min: 1, max: 5 }),
      filler: fc.constantFrom('a', ' ', '{', '"x":1,', '\u00e9'),
      keepOriginal: fc.boolean(),
    }),
  ];
  const tolerance = bot.toleranceSeconds;
  if (tolerance !== undefined) {
    // Five seconds past the window, so the clock moving on while the case runs cannot bring it back in.
    const outside = fc.integer({ min: tolerance + 5, max: 10 * 365 * 24 * 3600 });
    kinds.push(
      fc.record({
        kind: fc.constant('signed outside the replay window' as const),
        sample,
        shape: shapeArbitrary,
        offsetSeconds: fc.oneof(
          outside,
          outside.map((seconds) => -seconds)
        ),
      })
    );
  }
  return fc.oneof(...kinds);
}

/** The request a forgery delivers, or undefined when it changes nothing the bot can see. */
export function forge(
  bot: BotUnderTest,
  original: SignedRequest,
  forgery: Forgery
): { request: SignedRequest; shape: InputShape } | undefined {
  switch (forgery.kind) {
    case 'body edit': {
      const body = forgery.edits.reduce(applyEdit, original.body);
      return sameForBot(original.body, body, forgery.shape)
        ? undefined
        : { request: { ...original, body }, shape: shapeFor(body, forgery.shape) };
    }
    case 'header change': {
      const before = original.headers[forgery.header] ?? '';
      const after = changeHeader(before, forgery.change);
      return after === before
        ? undefined
        : { request: { ...original, headers: { ...original.headers, [forgery.header]: after } }, shape: forgery.shape };
    }
    case 'header removed': {
      const headers = { ...original.headers };
      delete headers[forgery.header];
      return { request: { ...original, headers }, shape: forgery.shape };
    }
    case 'signed outside the replay window': {
      const request = bot.sign(original.body, { nowSeconds: nowSeconds() + forgery.offsetSeconds });
      return { request, shape: forgery.shape };
    }
    case 'content type':
      return { request: { ...original, contentType: forgery.contentType }, shape: 'parsed object' };
    case 'oversized body': {
      const filler = bigString(forgery.filler, forgery.megabytes);
      return {
        request: { ...original, body: forgery.keepOriginal ? original.body + filler : filler },
        shape: 'raw string',
      };
    }
  }
}

function applyEdit(body: string, edit: BodyEdit): string {
  const at = edit.at % (body.length + 1);
  switch (edit.op) {
    case 'replace':
      return body.slice(0, at) + edit.text + body.slice(at + edit.text.length);
    case 'insert':
      return body.slice(0, at) + edit.text + body.slice(at);
    case 'delete':
      return body.slice(0, at) + body.slice(at + edit.text.length);
  }
}

/**
 * True when the bot cannot tell the bodies apart: the same text, or (for a parsed object) the same
 * JSON value, which the bot re-serialises to the text that was signed.
 */
function sameForBot(original: string, changed: string, shape: InputShape): boolean {
  if (original === changed) {
    return true;
  }
  if (shape === 'raw string') {
    return false;
  }
  const parsed = tryParse(changed);
  return parsed.ok && JSON.stringify(parsed.value) === JSON.stringify(JSON.parse(original));
}

/** `$execute` refuses a JSON content type whose body is not JSON before the bot runs; the raw route does not. */
function shapeFor(body: string, shape: InputShape): InputShape {
  return shape === 'parsed object' && !tryParse(body).ok ? 'raw string' : shape;
}

function changeHeader(value: string, change: HeaderChange): string {
  switch (change.op) {
    case 'empty':
      return '';
    case 'replace':
      return change.value;
    case 'character': {
      const at = change.at % Math.max(value.length, 1);
      return value.slice(0, at) + change.text + value.slice(at + 1);
    }
    case 'truncate':
      return value.slice(0, change.keep % Math.max(value.length, 1));
    case 'number': {
      const runs = [...value.matchAll(/\d+/g)];
      const run = runs[change.which % Math.max(runs.length, 1)];
      if (!run || run.index === undefined) {
        return value;
      }
      return value.slice(0, run.index) + String(change.value) + value.slice(run.index + run[0].length);
    }
  }
}

// ---- Signed payloads the bot cannot read ----

export function badPayloadArbitrary(bot: BotUnderTest): fc.Arbitrary<BadPayload> {
  const samples = [...bot.samples, ...bot.ignoredSamples];
  const sample = fc.constantFrom(...samples.map((s) => s.name));
  const notJson = fc.string({ maxLength: 40 }).filter((text) => !tryParse(text).ok);
  const notObject = fc
    .jsonValue({ maxDepth: 2 })
    .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value));
  return fc.oneof(
    fc.record({ kind: fc.constant('not JSON' as const), text: notJson }),
    fc.record({ kind: fc.constant('truncated JSON' as const), sample, keep: fc.nat() }),
    fc.record({ kind: fc.constant('JSON but not an object' as const), value: notObject, shape: shapeArbitrary }),
    fc.record({
      kind: fc.constant('deeply nested JSON' as const),
      depth: fc.integer({ min: 1_000, max: 20_000 }),
      opener: fc.constantFrom('[' as const, '{"a":' as const),
      at: fc.constantFrom('body' as const, 'data' as const),
      sample,
      shape: shapeArbitrary,
    }),
    fc.record({
      kind: fc.constant('oversized non-JSON' as const),
      megabytes: fc.integer({ min: 1, max: 5 }),
      filler: fc.constantFrom('a', '<x>', '\u00e9'),
    })
  );
}

/** The body a bad payload is made of; the caller signs it. */
export function badBody(bad: BadPayload, sampleBody: (name: string) => string): { body: string; shape: InputShape } {
  switch (bad.kind) {
    case 'not JSON':
      return { body: bad.text, shape: 'raw string' };
    case 'truncated JSON': {
      const text = sampleBody(bad.sample);
      return { body: text.slice(0, bad.keep % text.length), shape: 'raw string' };
    }
    case 'JSON but not an object':
      return { body: JSON.stringify(bad.value), shape: bad.shape };
    case 'deeply nested JSON': {
      const closer = bad.opener === '[' ? ']' : '}';
      const nested = bad.opener.repeat(bad.depth) + (bad.opener === '[' ? '' : '1') + closer.repeat(bad.depth);
      if (bad.at === 'body') {
        return { body: nested, shape: bad.shape };
      }
      // Every vendor so far puts its event under `data`: a body whose `data` is deeply nested JSON.
      const payload = JSON.parse(sampleBody(bad.sample)) as { data?: unknown };
      const marker = '"__deeply_nested__"';
      payload.data = JSON.parse(marker);
      return { body: JSON.stringify(payload, null, 2).replace(marker, nested), shape: bad.shape };
    }
    case 'oversized non-JSON':
      return { body: bigString(bad.filler, bad.megabytes), shape: 'raw string' };
  }
}

// ---- Wrong JSON types in the fields a bot reads ----

/** Every (sample, concrete path) where a registered field exists, with the field it came from. */
export function fieldInstances(
  bot: BotUnderTest,
  fields: readonly ReadField[]
): { sample: string; path: string; field: ReadField }[] {
  const instances: { sample: string; path: string; field: ReadField }[] = [];
  for (const sample of [...bot.samples, ...bot.ignoredSamples]) {
    const payload = JSON.parse(sample.body) as unknown;
    for (const field of fields) {
      if (field.in && !field.in.test(sample.name)) {
        continue;
      }
      for (const path of concretePaths(payload, field.path.split('.'))) {
        instances.push({ sample: sample.name, path, field });
      }
    }
  }
  return instances;
}

function concretePaths(value: unknown, segments: readonly string[], prefix: string[] = []): string[] {
  if (segments.length === 0) {
    return [prefix.join('.')];
  }
  const [head, ...rest] = segments;
  if (head === '*') {
    return Array.isArray(value)
      ? value.flatMap((item, index) => concretePaths(item, rest, [...prefix, String(index)]))
      : [];
  }
  if (value === null || typeof value !== 'object' || !(head in value)) {
    return [];
  }
  return concretePaths((value as Record<string, unknown>)[head], rest, [...prefix, head]);
}

const VALUES_OF_TYPE: Record<JsonType, fc.Arbitrary<unknown>> = {
  string: fc.string({ maxLength: 8 }),
  number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  boolean: fc.boolean(),
  null: fc.constant(null),
  object: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), {
    maxKeys: 2,
  }),
  array: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 2 }),
};

export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value as JsonType;
}

export function wrongTypeArbitrary(
  instances: readonly { sample: string; path: string; field: ReadField }[]
): fc.Arbitrary<WrongType> {
  return fc.constantFrom(...instances).chain(({ sample, path, field }) => {
    const wrongTypes = (Object.keys(VALUES_OF_TYPE) as JsonType[]).filter((type) => !field.types.includes(type));
    return fc.record({
      kind: fc.constant('wrong JSON type' as const),
      sample: fc.constant(sample),
      path: fc.constant(path),
      value: fc.oneof(...wrongTypes.map((type) => VALUES_OF_TYPE[type])),
      shape: shapeArbitrary,
    });
  });
}

/** The sample's body with the value at `path` replaced, formatted as the vendor formats JSON. */
export function withValueAt(body: string, path: string, value: unknown): string {
  const payload = JSON.parse(body) as unknown;
  const segments = path.split('.');
  let parent = payload as Record<string, unknown>;
  for (const segment of segments.slice(0, -1)) {
    parent = parent[segment] as Record<string, unknown>;
  }
  parent[segments[segments.length - 1]] = value;
  return JSON.stringify(payload, null, 2);
}

// ---- Helpers ----

function bigString(filler: string, megabytes: number): string {
  return filler.repeat(Math.ceil((megabytes * 1024 * 1024) / filler.length));
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

// The reliability harness: what a bot registers (samples, signer, identifier systems, personal strings),
// how a generated case delivers requests the way Medplum hands them to a bot, and the checks every
// property shares (business state, one resource per identifier, FHIR writes, leaks). The properties
// live in the *.test.ts files beside this one and run over every bot listed in bots.ts.
import type { BotEvent, MedplumClient } from '@medplum/core';
import type { Identifier, Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { expect } from 'vitest';
import { botEvent } from '../bot-event.ts';
import type { RecordedRequest, TestMedplum } from '../medplum.ts';
import { createTestMedplum, takeInvalidWrites } from '../medplum.ts';

// ---- What a bot registers ----

/** One sample payload of a bot, as the vendor sends it. */
export interface Sample {
  /** The fixture name, e.g. `invoice.paid`. */
  readonly name: string;
  /** The exact body text. */
  readonly body: string;
}

/** A webhook request as the vendor makes it, before Medplum parses the body. */
export interface SignedRequest {
  /** Request headers with lower-case names, as Medplum passes them to the bot. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly contentType: string;
}

export interface SignOptions {
  /** The signing time; vendors that sign a timestamp use it. */
  readonly nowSeconds: number;
}

/** JSON value types, for the fields a bot reads. */
export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

/** A field the bot reads; a signed payload with another JSON type there must be refused or ignored. */
export interface ReadField {
  /** Dotted path into the payload; `*` stands for every index of an array. */
  readonly path: string;
  /** The JSON types the vendor documents for it. */
  readonly types: readonly JsonType[];
  /** The sample names whose payload the bot reads this field of (default: every sample that has it). */
  readonly in?: RegExp;
  /** What the refusal must name (default: the field's last key). */
  readonly mentions?: RegExp;
  /**
   * A known bug, reported in issue 6: the field stays out of the hostile property, and
   * known-issues.test.ts pins its reproduction as an expected failure until the bot is fixed.
   */
  readonly knownIssue?: string;
}

export interface BotUnderTest {
  /** The bot's source name, e.g. `stripe`; test names start with it. */
  readonly name: string;
  readonly handler: (medplum: MedplumClient, event: BotEvent) => Promise<unknown>;
  /** Related events in the order the vendor emitted them: the reference stream for convergence. */
  readonly samples: readonly Sample[];
  /** Authentic events the bot acknowledges without writing (event types it does not map). */
  readonly ignoredSamples: readonly Sample[];
  /** True when `result` is the bot's normal answer for an event it deliberately ignores. */
  readonly isIgnored: (result: unknown) => boolean;
  /** Signs a body the way the vendor does. */
  readonly sign: (body: string, options: SignOptions) => SignedRequest;
  /** The bot secrets the handler reads, by name. */
  readonly secrets: Readonly<Record<string, string>>;
  /** False when the credential does not cover the body (a static secret in a header). */
  readonly bodyIsSigned: boolean;
  /** The replay window, for vendors that sign a timestamp. */
  readonly toleranceSeconds?: number;
  /** Headers that carry a signature or secret: their values must never be logged. */
  readonly credentialHeaders: readonly string[];
  /** The resource types the bot writes; the convergence state is made of them. */
  readonly resourceTypes: readonly ResourceType[];
  /** Identifier systems that name one source object each: one resource per value. */
  readonly identifierSystems: readonly string[];
  /** `meta.tag` systems that name one source object each, for resources without an identifier (AuditEvent). */
  readonly tagSystems?: readonly string[];
  /** True for an error that tells the vendor to deliver again: what a lost race or a failed write throws. */
  readonly isRetryableFailure: (error: unknown) => boolean;
  /**
   * How many times the bot itself repeats a write that failed for a passing reason before it gives up
   * (Okta's bot retries once, since Okta never redelivers after an error). Default 0.
   */
  readonly ownWriteRetries?: number;
  /** Patient names, emails, phone numbers and ids in the samples: never in a log line or error. */
  readonly personalStrings: readonly string[];
  /** The fields the bot reads, with their documented JSON types. */
  readonly readFields: readonly ReadField[];
  /**
   * Known bugs that make some delivery orders end in another state, reported in issue 6. The
   * convergence property skips the orders they affect; known-issues.test.ts pins each reproduction
   * as an expected failure, so fixing the bug turns that test red until its entry is removed here.
   */
  readonly knownStreamIssues?: readonly KnownStreamIssue[];
}

export interface KnownStreamIssue {
  readonly description: string;
  /** True for a delivery order (sample names, one at a time) the bug cannot affect. */
  readonly unaffected: (names: readonly string[]) => boolean;
  /** A delivery order that shows the bug. */
  readonly reproduction: readonly string[];
}

/** Position of a sample's first delivery in an order, or Infinity when it is not there. */
export function firstDelivery(names: readonly string[], name: string): number {
  const index = names.indexOf(name);
  return index === -1 ? Infinity : index;
}

/** Position of a sample's last delivery in an order, or -Infinity when it is not there. */
export function lastDelivery(names: readonly string[], name: string): number {
  const index = names.lastIndexOf(name);
  return index === -1 ? -Infinity : index;
}

// ---- Run counts, seeds and replay ----

/** `SOAK=1` (npm run test:soak) multiplies every run count for an occasional deep run. */
export const SOAK = process.env.SOAK === '1';

/** Generated cases per property per bot: the defaults keep `npm test` short on a 2-core machine. */
export const RUNS = {
  convergence: SOAK ? 1000 : 100,
  concurrency: SOAK ? 500 : 40,
  concurrentStream: SOAK ? 300 : 25,
  forged: SOAK ? 5000 : 300,
  unreadable: SOAK ? 2000 : 200,
  wrongTypes: SOAK ? 3000 : 200,
  faults: SOAK ? 1000 : 40,
  knownIssue: SOAK ? 200 : 30,
} as const;

/** Time allowed for one property test: generous, since a loaded CI machine can be several times slower. */
export const PROPERTY_TIMEOUT_MS = SOAK ? 30 * 60_000 : 180_000;

/**
 * fast-check parameters for a property. A failure prints the seed and the counterexample path;
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/reliability -t '<test name>'` replays exactly
 * that case (the path makes fast-check skip straight to the shrunk counterexample).
 */
export function fcParams<T>(numRuns: number, testName: string): fc.Parameters<T> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
  const path = process.env.FC_PATH || undefined;
  return {
    numRuns,
    includeErrorInReport: true,
    ...(seed !== undefined ? { seed } : {}),
    ...(path ? { path } : {}),
    asyncReporter: async (details) => {
      const message = await fc.asyncDefaultReportMessage(details);
      if (details.failed && message) {
        const replay =
          `Replay: FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''} ` +
          `npx vitest run test/reliability -t '${testName}'`;
        throw new Error(`${message}\n\n${replay}`);
      }
    },
  };
}

// ---- Stores: an empty Medplum for every generated case ----

/**
 * A MockClient takes ~100 ms to start (it loads its definitions), so a property keeps one per bot and
 * empties it between cases. Deleting goes straight to the repository, so no request is recorded.
 */
export class Store {
  readonly medplum: TestMedplum = createTestMedplum();
  private readonly bot: BotUnderTest;

  constructor(bot: BotUnderTest) {
    this.bot = bot;
  }

  /** Empties the bot's resource types, forgets recorded requests and any invalid write. */
  async reset(): Promise<TestMedplum> {
    const repo = this.medplum.repo;
    for (const resourceType of this.bot.resourceTypes) {
      const stored = await repo.searchResources({ resourceType, count: 10_000 });
      await repo.expungeResources(
        resourceType,
        stored.map((resource) => resource.id as string)
      );
    }
    this.medplum.requests.length = 0;
    takeInvalidWrites();
    return this.medplum;
  }
}

// ---- Deliveries, as Medplum hands them to the bot ----

/** `raw string`: the /webhook route with webhookRawBodyEnabled; `parsed object`: `$execute` with JSON. */
export type InputShape = 'raw string' | 'parsed object';
export const INPUT_SHAPES: readonly InputShape[] = ['raw string', 'parsed object'];

/**
 * The `event.input` Medplum gives the bot for a request, or undefined when Medplum answers 400 itself
 * (`$execute` with a JSON content type and a body that is not JSON never reaches the bot).
 */
export function medplumInput(request: SignedRequest, shape: InputShape): unknown {
  const type = request.contentType.split(';')[0].trim().toLowerCase();
  const isJson = type === 'application/json' || type.endsWith('+json');
  if (shape === 'raw string' || type === 'text/plain') {
    return request.body;
  }
  if (isJson) {
    try {
      return JSON.parse(request.body);
    } catch {
      return undefined;
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(request.body)) {
      const seen = form[key];
      form[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    return form;
  }
  return {};
}

export function eventFor(bot: BotUnderTest, request: SignedRequest, shape: InputShape): BotEvent | undefined {
  const input = medplumInput(request, shape);
  if (input === undefined) {
    return undefined;
  }
  return botEvent({
    input,
    headers: { ...request.headers },
    secrets: { ...bot.secrets },
    contentType: request.contentType,
  });
}

export type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export async function settle(work: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    return { ok: false, error };
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs a sample now and delivers it in the given shape. */
export function deliverSample(
  bot: BotUnderTest,
  medplum: MedplumClient,
  sample: Sample,
  shape: InputShape
): Promise<Settled> {
  return deliverRequest(bot, medplum, bot.sign(sample.body, { nowSeconds: nowSeconds() }), shape);
}

export function deliverRequest(
  bot: BotUnderTest,
  medplum: MedplumClient,
  request: SignedRequest,
  shape: InputShape
): Promise<Settled> {
  const event = eventFor(bot, request, shape);
  if (!event) {
    throw new Error(`Medplum would not run the bot for this request in the ${shape} shape; the generator is wrong.`);
  }
  return settle(Promise.resolve().then(() => bot.handler(medplum, event)));
}

export function sampleNamed(bot: BotUnderTest, name: string): Sample {
  const sample = [...bot.samples, ...bot.ignoredSamples].find((s) => s.name === name);
  if (!sample) {
    throw new Error(`${bot.name} has no sample ${name}`);
  }
  return sample;
}

// ---- Console capture and the leak check ----

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;

/**
 * Runs `work` with the console captured (Medplum stores a bot's console output in AuditEvents), then
 * restores it. Every property checks the captured lines with `expectNoLeaks`.
 */
export async function withConsoleCaptured<T>(work: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const saved = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === 'string' ? arg : safeInspect(arg))).join(' '));
    };
  }
  try {
    return await work(lines);
  } finally {
    for (const [method, original] of saved) {
      console[method] = original;
    }
  }
}

function safeInspect(value: unknown): string {
  if (value instanceof Error) {
    return `${value.name}: ${value.message}\n${value.stack ?? ''}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Values of a request's credential headers, and their long parts (a `v1=` signature, a token). */
export function credentialValues(bot: BotUnderTest, request: SignedRequest): string[] {
  const values: string[] = [];
  for (const name of bot.credentialHeaders) {
    const value = request.headers[name];
    if (value) {
      values.push(value, ...value.split(/[\s,;=]+/).filter((part) => part.length >= 16));
    }
  }
  return values;
}

/**
 * Fails when the console output or an error message (Medplum writes both into AuditEvents) holds a
 * secret, a credential header value or a sample's personal data.
 */
export function expectNoLeaks(
  bot: BotUnderTest,
  output: { lines: readonly string[]; errors: readonly unknown[]; credentials: readonly string[] }
): void {
  const errorTexts = output.errors.map((error) =>
    error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error)
  );
  const text = [...output.lines, ...errorTexts].join('\n');
  const forbidden = [...Object.values(bot.secrets), ...output.credentials, ...bot.personalStrings];
  for (const value of forbidden) {
    if (value.length >= 6 && text.includes(value)) {
      throw new Error(
        `Console output or an error message contains a secret, a signature or personal data: ${mask(value)}`
      );
    }
  }
}

/** Shows enough of a leaked value to find it, not the value itself (this message is printed too). */
function mask(value: string): string {
  return `${value.slice(0, 3)}...(${value.length} chars)`;
}

// ---- FHIR writes and state ----

/** Requests that change the store: anything but GETs and batches made only of GETs. */
export function fhirWrites(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((request) => {
    if (request.method === 'GET') {
      return false;
    }
    const onlyReads =
      request.bundle?.type === 'batch' && request.bundle.entries.every((entry) => entry.startsWith('GET '));
    return !onlyReads;
  });
}

/** Business content of every resource of the bot's types, keyed by the identifier it is written under. */
export type BusinessState = Record<string, unknown>;

/**
 * The state to compare: resources without id and meta, each keyed by its first registered identifier,
 * and references to them replaced by that identifier (ids differ between runs, identifiers do not).
 */
export async function businessState(medplum: TestMedplum, bot: BotUnderTest): Promise<BusinessState> {
  const resources = await storedResources(medplum, bot);
  const keys = new Map<string, string>();
  for (const resource of resources) {
    keys.set(`${resource.resourceType}/${resource.id}`, identityOf(bot, resource));
  }
  const state: BusinessState = {};
  for (const resource of resources) {
    const key = identityOf(bot, resource);
    if (key in state) {
      throw new Error(`Two ${resource.resourceType} resources are stored under ${key}`);
    }
    state[key] = withoutServerFields(resource, keys);
  }
  return sortKeys(state);
}

async function storedResources(medplum: TestMedplum, bot: BotUnderTest): Promise<Resource[]> {
  const all: Resource[] = [];
  for (const resourceType of bot.resourceTypes) {
    all.push(...(await medplum.repo.searchResources({ resourceType, count: 10_000 })));
  }
  return all;
}

/** The source objects a resource stands for: its registered identifiers and `meta.tag`s. */
function identitiesOf(bot: BotUnderTest, resource: Resource): string[] {
  const identifiers = ('identifier' in resource ? (resource.identifier as Identifier[] | undefined) : undefined) ?? [];
  const tags = resource.meta?.tag ?? [];
  return [
    ...identifiers
      .filter((identifier) => identifier.system && bot.identifierSystems.includes(identifier.system))
      .map((identifier) => `${resource.resourceType}?identifier=${identifier.system}|${identifier.value}`),
    ...tags
      .filter((tag) => tag.system && bot.tagSystems?.includes(tag.system))
      .map((tag) => `${resource.resourceType}?_tag=${tag.system}|${tag.code}`),
  ];
}

function identityOf(bot: BotUnderTest, resource: Resource): string {
  return identitiesOf(bot, resource)[0] ?? `${resource.resourceType}/(no identifier)`;
}

function withoutServerFields(resource: Resource, keys: Map<string, string>): unknown {
  return JSON.parse(
    JSON.stringify(resource, (name, child: unknown) => {
      if (name === 'id' || name === 'meta') {
        return undefined;
      }
      if (isReference(child) && child.reference && keys.has(child.reference)) {
        return { ...child, reference: keys.get(child.reference) };
      }
      return child;
    })
  );
}

function isReference(value: unknown): value is Reference {
  return value !== null && typeof value === 'object' && typeof (value as Reference).reference === 'string';
}

function sortKeys(state: BusinessState): BusinessState {
  return Object.fromEntries(Object.entries(state).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Fails with the differing fields listed, which a deep-equality message folds away. */
export function expectSameState(actual: BusinessState, expected: BusinessState): void {
  const differences = diffPaths(actual, expected, '');
  if (differences.length > 0) {
    throw new Error(`The FHIR state differs from the in-order state:\n${differences.slice(0, 20).join('\n')}`);
  }
}

function diffPaths(actual: unknown, expected: unknown, path: string): string[] {
  if (JSON.stringify(actual) === JSON.stringify(expected)) {
    return [];
  }
  const bothObjects =
    actual !== null && expected !== null && typeof actual === 'object' && typeof expected === 'object';
  if (!bothObjects || Array.isArray(actual) !== Array.isArray(expected)) {
    return [`  ${path || '(root)'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])];
  return keys.flatMap((key) => diffPaths(a[key], e[key], path ? `${path} > ${key}` : key));
}

/** Fails when two resources of a type carry the same registered identifier or tag. */
export async function expectOneResourcePerIdentifier(medplum: TestMedplum, bot: BotUnderTest): Promise<void> {
  const seen = new Map<string, number>();
  for (const resource of await storedResources(medplum, bot)) {
    for (const identity of identitiesOf(bot, resource)) {
      seen.set(identity, (seen.get(identity) ?? 0) + 1);
    }
  }
  const duplicated = [...seen].filter(([, count]) => count > 1);
  expect(duplicated, 'identifiers held by more than one resource').toEqual([]);
}

/** Fails on any write a Medplum server would have refused as invalid FHIR, and clears the record. */
export function expectNoInvalidWrites(): void {
  const invalid = takeInvalidWrites();
  expect(invalid, 'resources that a Medplum server would reject on write').toEqual([]);
}

/**
 * Writes the samples (or the first `count` of them) in the vendor's order, one at a time: the state
 * every other order of the same deliveries must reach.
 */
export async function inOrderState(bot: BotUnderTest, count = bot.samples.length): Promise<BusinessState> {
  const store = new Store(bot);
  const medplum = await store.reset();
  await withConsoleCaptured(async () => {
    for (const sample of bot.samples.slice(0, count)) {
      const outcome = await deliverSample(bot, medplum, sample, 'raw string');
      if (!outcome.ok) {
        throw outcome.error;
      }
    }
  });
  return businessState(medplum, bot);
}

// ---- Arbitraries shared by the properties ----

export const shapeArbitrary: fc.Arbitrary<InputShape> = fc.constantFrom(...INPUT_SHAPES);

export interface StreamDelivery {
  readonly sample: string;
  readonly shape: InputShape;
}

/**
 * A delivery order: every sample of the vendor's stream (or, with `prefixes`, of its first few samples:
 * what the vendor has sent so far) at least once, in any order, with up to `maxDuplicates` extra copies
 * anywhere, each delivery in either input shape. Built from sort keys, so it shrinks towards the whole
 * stream in the vendor's order, without copies, as raw strings: a failure reads as the smallest change
 * that breaks it.
 */
export function streamArbitrary(
  bot: BotUnderTest,
  maxDuplicates: number,
  options: { prefixes?: boolean } = {}
): fc.Arbitrary<StreamDelivery[]> {
  const all = bot.samples.map((sample) => sample.name);
  const count = all.length;
  return fc
    .record({
      dropped: options.prefixes ? fc.nat({ max: count - 1 }) : fc.constant(0),
      keys: fc.array(fc.nat({ max: 4 * count }), { minLength: count, maxLength: count }),
      copies: fc.array(fc.record({ sample: fc.nat({ max: count - 1 }), at: fc.nat({ max: count + maxDuplicates }) }), {
        maxLength: maxDuplicates,
      }),
      shapes: fc.array(shapeArbitrary, { maxLength: count + maxDuplicates }),
    })
    .map(({ dropped, keys, copies, shapes }) => {
      const names = all.slice(0, count - dropped);
      const order = names
        .map((name, index) => ({ name, key: keys[index] }))
        .sort((a, b) => a.key - b.key)
        .map((entry) => entry.name);
      for (const { sample, at } of copies) {
        order.splice(Math.min(at, order.length), 0, names[sample % names.length]);
      }
      return order.map((sample, index) => ({ sample, shape: shapes[index] ?? 'raw string' }));
    });
}

/** True for a delivery order that no known stream issue of the bot can affect. */
export function unaffectedByKnownIssues(bot: BotUnderTest): (deliveries: readonly StreamDelivery[]) => boolean {
  const issues = bot.knownStreamIssues ?? [];
  return (deliveries) => issues.every((issue) => issue.unaffected(deliveries.map((d) => d.sample)));
}

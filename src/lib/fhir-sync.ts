import type { MedplumClient } from '@medplum/core';
import type { Bundle, BundleEntry, Extension, Identifier, Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { FhirWriteError } from './errors.ts';

/**
 * Writes the FHIR resources that webhook events map to, with a fixed request budget: one batch read of
 * every resource the events touch, then one transaction of conditional creates and version-checked
 * updates (split only past Medplum's limit of entries per transaction). Redeliveries change nothing,
 * older events never overwrite newer state, and concurrent deliveries cannot create two resources for
 * one vendor object.
 */

/** Extension on every resource a bot writes: which vendor event last set it, and when that event happened. */
export const SOURCE_EVENT_EXTENSION_URL =
  'https://github.com/medplum-webhook-bots/fhir/StructureDefinition/source-event';

/** Names a resource by the vendor's identifier for the object it mirrors. */
export interface ResourceKey {
  readonly resourceType: ResourceType;
  readonly system: string;
  readonly value: string;
  /**
   * Where the key lives on the resource: an `identifier` (the default), or a `meta.tag` for resource
   * types that have no identifier element, such as AuditEvent in R4.
   */
  readonly via?: 'identifier' | 'tag';
}

/** What a mapper may look at while it builds a resource. */
export interface BuildContext<T extends Resource> {
  /** The resource as stored now (after earlier events of the same sync), or undefined if there is none. */
  readonly current: T | undefined;
  /** Another resource read in the same sync (listed in the plan's `reads`, `ensures` or `upserts`). */
  lookup<R extends Resource>(key: ResourceKey): R | undefined;
  /** A reference to a resource of the plan: stored (`Type/id`) or created in this transaction (`urn:uuid`). */
  reference<R extends Resource>(key: ResourceKey): Reference<R> | undefined;
}

/** Create or update the resource for one vendor object. */
export interface Upsert<T extends Resource = Resource> {
  readonly key: ResourceKey;
  /**
   * Returns the fields this bot owns. Fields it leaves out are kept from the stored resource (a person
   * may have added them); a field set to `undefined` is removed.
   */
  readonly build: (context: BuildContext<T>) => Partial<T>;
  /**
   * The part of the resource this upsert owns, when events of one object carry different parts (Okta's
   * lifecycle events set `active`, its profile events the name). An event is stale only against an
   * earlier write of the same aspect, so a late lifecycle event is not lost to a newer profile event.
   */
  readonly aspect?: string;
}

/** Create a placeholder when absent (for example an Account an Invoice points at); never update it. */
export interface Ensure {
  readonly key: ResourceKey;
  readonly placeholder: Resource;
}

/** Everything one vendor event asks to be written. */
export interface SyncPlan {
  /** Vendor event id, for logs. */
  readonly eventId: string;
  readonly eventType: string;
  /** When the vendor says the event happened (ISO 8601). Older events never overwrite newer ones. */
  readonly occurredAt: string;
  /**
   * Breaks ties between events with the same `occurredAt` (Stripe's clock has whole seconds): the higher
   * rank wins, so a later stage of an object's life (paid after finalized) is never undone by a tie.
   */
  readonly rank?: number;
  readonly upserts: readonly Upsert[];
  readonly ensures?: readonly Ensure[];
  /** Resources to read for reference only (for example an Account whose subject an Invoice copies). */
  readonly reads?: readonly ResourceKey[];
}

export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

export interface ResourceResult {
  /** `Type/id` once written or found; `Type?identifier=...` when it was never stored. */
  readonly reference: string;
  readonly outcome: WriteOutcome;
}

export interface PlanResult {
  readonly eventId: string;
  readonly eventType: string;
  readonly resources: ResourceResult[];
}

/** Every FHIR request of a sync goes through this client. */
export type FhirClient = Pick<MedplumClient, 'executeBatch'>;

interface SourceVersion {
  readonly time: number;
  readonly rank: number;
}

interface Slot {
  readonly key: ResourceKey;
  readonly stored: Resource | undefined;
  current: Resource | undefined;
  readonly fullUrl: string;
  placeholder: boolean;
  /** A concurrent delivery of the same event created the resource between our read and our write. */
  createdConcurrently?: boolean;
}

/** Writes the plans of one delivery (one event, or a vendor's batch): one read, then one transaction. */
export async function syncPlans(medplum: FhirClient, plans: readonly SyncPlan[]): Promise<PlanResult[]> {
  const slots = await readSlots(medplum, plans);
  const ordered = [...plans].sort(compareOccurrence);
  const outcomes = new Map<SyncPlan, Map<string, WriteOutcome>>();
  for (const plan of ordered) {
    outcomes.set(plan, applyPlan(plan, slots));
  }
  const written = await writeSlots(medplum, slots);
  return plans.map((plan) => ({
    eventId: plan.eventId,
    eventType: plan.eventType,
    resources: [...(outcomes.get(plan) ?? [])].map(([slotId, outcome]) => ({
      reference: written.get(slotId) ?? searchUrl(slotFor(slots, slotId).key),
      outcome: outcome === 'created' && slotFor(slots, slotId).createdConcurrently ? 'unchanged' : outcome,
    })),
  }));
}

function compareOccurrence(a: SyncPlan, b: SyncPlan): number {
  return compareVersions(planVersion(a), planVersion(b));
}

function planVersion(plan: SyncPlan): SourceVersion {
  const time = Date.parse(plan.occurredAt);
  const rank = plan.rank ?? 0;
  if (Number.isNaN(time) || !Number.isInteger(rank) || Math.abs(rank) > MAX_FHIR_INTEGER) {
    throw new FhirWriteError(
      `Event ${plan.eventId} has an invalid time or rank (a 32-bit integer); this is a bug in the bot's mapper.`
    );
  }
  return { time, rank };
}

/** The largest value of a FHIR integer, where the rank is stored. */
const MAX_FHIR_INTEGER = 2 ** 31 - 1;

function compareVersions(a: SourceVersion, b: SourceVersion): number {
  return a.time - b.time || a.rank - b.rank;
}

/**
 * Sends a batch or transaction. A transaction is sent once: when its answer is lost, the client's own
 * retry would report our write as someone else's; the vendor's redelivery retries it safely instead.
 * Whatever Medplum or the network throws becomes a retryable FhirWriteError naming what happened.
 */
async function send(medplum: FhirClient, bundle: Bundle): Promise<Bundle> {
  try {
    return await medplum.executeBatch(bundle, bundle.type === 'transaction' ? { maxRetries: 0 } : undefined);
  } catch (err) {
    const what = bundle.type === 'transaction' ? 'transaction' : 'batch read';
    throw new FhirWriteError(
      `Medplum did not complete the ${what} (${describeFailure(err)}); the vendor will retry. ` +
        "If it keeps failing, check the Medplum server and the bot's AccessPolicy."
    );
  }
}

/** Names a failure by its kind and OperationOutcome codes only: a server's message may quote the data. */
function describeFailure(err: unknown): string {
  const outcome = (err as { outcome?: { id?: string; issue?: { code?: string }[] } } | undefined)?.outcome;
  const codes = [outcome?.id, ...(outcome?.issue ?? []).map((issue) => issue.code)].filter(Boolean);
  const kind = err instanceof Error ? err.name : typeof err;
  return codes.length > 0 ? `${kind}: ${[...new Set(codes)].join(', ')}` : kind;
}

// ---- Read: one batch of identifier searches ----

function slotId(key: ResourceKey): string {
  return `${key.resourceType}|${key.via ?? 'identifier'}|${key.system}|${key.value}`;
}

function slotFor(slots: Map<string, Slot>, id: string): Slot {
  const slot = slots.get(id);
  if (!slot) {
    throw new FhirWriteError(`No resource ${id} was read for this event; this is a bug in the bot's mapper.`);
  }
  return slot;
}

function searchUrl(key: ResourceKey): string {
  const parameter = key.via === 'tag' ? '_tag' : 'identifier';
  return `${key.resourceType}?${parameter}=${encodeURIComponent(`${key.system}|${key.value}`)}`;
}

function keysOf(plans: readonly SyncPlan[]): ResourceKey[] {
  const keys = new Map<string, ResourceKey>();
  for (const plan of plans) {
    for (const key of [
      ...plan.upserts.map((u) => u.key),
      ...(plan.ensures ?? []).map((e) => e.key),
      ...(plan.reads ?? []),
    ]) {
      keys.set(slotId(key), key);
    }
  }
  return [...keys.values()];
}

async function readSlots(medplum: FhirClient, plans: readonly SyncPlan[]): Promise<Map<string, Slot>> {
  const keys = keysOf(plans);
  const slots = new Map<string, Slot>();
  if (keys.length === 0) {
    return slots;
  }
  const response = await send(medplum, {
    resourceType: 'Bundle',
    type: 'batch',
    entry: keys.map((key) => ({ request: { method: 'GET', url: searchUrl(key) } })),
  });
  keys.forEach((key, index) => {
    const stored = storedResourceFrom(response.entry?.[index], key);
    slots.set(slotId(key), { key, stored, current: stored, fullUrl: 'urn:uuid:' + randomUUID(), placeholder: false });
  });
  return slots;
}

function storedResourceFrom(entry: BundleEntry | undefined, key: ResourceKey): Resource | undefined {
  const status = entry?.response?.status ?? '';
  if (!status.startsWith('2')) {
    throw new FhirWriteError(
      `Reading ${key.resourceType} by ${key.via ?? 'identifier'} failed with HTTP ${status || 'no status'}; ` +
        "check the bot's AccessPolicy allows reading it. The vendor will retry."
    );
  }
  const matches = ((entry?.resource as Bundle | undefined)?.entry ?? [])
    .map((match) => match.resource)
    .filter((resource): resource is Resource => resource?.resourceType === key.resourceType);
  if (matches.length > 1) {
    throw new FhirWriteError(
      `${matches.length} ${key.resourceType} resources carry ${key.via ?? 'identifier'} ${key.system}|${key.value}; ` +
        'merge them into one so the bot knows which to update.'
    );
  }
  return matches[0];
}

// ---- Decide: apply each event to the in-memory state, oldest first ----

function applyPlan(plan: SyncPlan, slots: Map<string, Slot>): Map<string, WriteOutcome> {
  const outcomes = new Map<string, WriteOutcome>();
  const version = planVersion(plan);
  for (const ensure of plan.ensures ?? []) {
    const slot = slotFor(slots, slotId(ensure.key));
    if (!slot.current) {
      slot.current = withKey(JSON.parse(JSON.stringify(ensure.placeholder)) as Resource, ensure.key);
      slot.placeholder = true;
      outcomes.set(slotId(ensure.key), 'created');
    }
  }
  for (const upsert of plan.upserts) {
    const id = slotId(upsert.key);
    const outcome = applyUpsert(upsert, slotFor(slots, id), version, slots);
    outcomes.set(id, strongerOutcome(outcomes.get(id), outcome));
  }
  return outcomes;
}

const OUTCOME_STRENGTH: Record<WriteOutcome, number> = { stale: 0, unchanged: 1, updated: 2, created: 3 };

/** What to report when one event writes several aspects of a resource: the most that happened to it. */
function strongerOutcome(earlier: WriteOutcome | undefined, later: WriteOutcome): WriteOutcome {
  return earlier && OUTCOME_STRENGTH[earlier] > OUTCOME_STRENGTH[later] ? earlier : later;
}

function applyUpsert(upsert: Upsert, slot: Slot, version: SourceVersion, slots: Map<string, Slot>): WriteOutcome {
  const before = slot.placeholder ? undefined : slot.current;
  const storedVersion = before ? readSourceVersion(before, upsert.aspect) : undefined;
  if (storedVersion && compareVersions(storedVersion, version) > 0) {
    return 'stale';
  }
  const context: BuildContext<Resource> = {
    current: before,
    lookup: <R extends Resource>(key: ResourceKey) => slots.get(slotId(key))?.current as R | undefined,
    reference: <R extends Resource>(key: ResourceKey) =>
      referenceTo(slots.get(slotId(key))) as Reference<R> | undefined,
  };
  const fields = upsert.build(context);
  const next = compact({
    ...(slot.current ?? {}),
    ...fields,
    resourceType: upsert.key.resourceType,
    extension: withSourceVersion(slot.current ? resourceExtensions(slot.current) : undefined, version, upsert.aspect),
  }) as Resource;
  const desired = withKey(next, upsert.key);
  if (slot.current && !slot.placeholder && sameContent(slot.current, desired)) {
    return 'unchanged';
  }
  slot.current = desired;
  slot.placeholder = false;
  return slot.stored ? 'updated' : 'created';
}

function referenceTo(slot: Slot | undefined): Reference | undefined {
  if (!slot?.current) {
    return undefined;
  }
  return { reference: slot.stored?.id ? `${slot.key.resourceType}/${slot.stored.id}` : slot.fullUrl };
}

function withKey<T extends Resource>(resource: T, key: ResourceKey): T {
  const isKey = (coding: { system?: string; value?: string; code?: string }): boolean =>
    coding.system === key.system && (coding.value ?? coding.code) === key.value;
  if (key.via === 'tag') {
    const tags = resource.meta?.tag ?? [];
    const tag = { system: key.system, code: key.value };
    return tags.some(isKey) ? resource : { ...resource, meta: { ...resource.meta, tag: [...tags, tag] } };
  }
  const identifiers = ('identifier' in resource ? (resource.identifier as Identifier[] | undefined) : undefined) ?? [];
  const identifier = { system: key.system, value: key.value };
  return identifiers.some(isKey) ? resource : { ...resource, identifier: [...identifiers, identifier] };
}

function isSourceEvent(extension: Extension, aspect: string | undefined): boolean {
  return (
    extension.url === SOURCE_EVENT_EXTENSION_URL &&
    extension.extension?.find((part) => part.url === 'aspect')?.valueString === aspect
  );
}

function readSourceVersion(resource: Resource, aspect: string | undefined): SourceVersion | undefined {
  const extension = resourceExtensions(resource).find((e) => isSourceEvent(e, aspect));
  const time = Date.parse(extension?.extension?.find((e) => e.url === 'time')?.valueInstant ?? '');
  if (Number.isNaN(time)) {
    return undefined;
  }
  return { time, rank: extension?.extension?.find((e) => e.url === 'rank')?.valueInteger ?? 0 };
}

function resourceExtensions(resource: Resource): Extension[] {
  return ('extension' in resource ? (resource.extension as Extension[] | undefined) : undefined) ?? [];
}

/** Records the event's version for one aspect, keeping the others; source-event extensions sorted by aspect. */
function withSourceVersion(
  extensions: Extension[] | undefined,
  version: SourceVersion,
  aspect: string | undefined
): Extension[] {
  const others = (extensions ?? []).filter((e) => e.url !== SOURCE_EVENT_EXTENSION_URL);
  const aspects = (extensions ?? []).filter((e) => e.url === SOURCE_EVENT_EXTENSION_URL && !isSourceEvent(e, aspect));
  const parts: Extension[] = [
    ...(aspect === undefined ? [] : [{ url: 'aspect', valueString: aspect }]),
    { url: 'time', valueInstant: new Date(version.time).toISOString() },
    ...(version.rank === 0 ? [] : [{ url: 'rank', valueInteger: version.rank }]),
  ];
  const sourceEvents = [...aspects, { url: SOURCE_EVENT_EXTENSION_URL, extension: parts }].sort((a, b) =>
    aspectOf(a).localeCompare(aspectOf(b))
  );
  return [...others, ...sourceEvents];
}

function aspectOf(extension: Extension): string {
  return extension.extension?.find((part) => part.url === 'aspect')?.valueString ?? '';
}

/** Removes undefined values, empty strings, arrays and objects, which FHIR forbids. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(compact).filter(isPresent) as T;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([name, child]) => [name, compact(child)] as const)
      .filter(([, child]) => isPresent(child));
    return Object.fromEntries(entries) as T;
  }
  return value;
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === '') {
    return false;
  }
  if (Array.isArray(value)) {
    return value.length > 0;
  }
  return typeof value !== 'object' || Object.keys(value).length > 0;
}

/** True when both were written by the same events (every aspect): concurrent copies of one delivery. */
function sameSourceVersion(a: Resource, b: Resource): boolean {
  const sourceEvents = (resource: Resource): string =>
    canonicalJson(resourceExtensions(resource).filter((e) => e.url === SOURCE_EVENT_EXTENSION_URL));
  return sourceEvents(a) !== '[]' && sourceEvents(a) === sourceEvents(b);
}

function sameContent(a: Resource, b: Resource): boolean {
  return canonicalJson(withoutMeta(a)) === canonicalJson(withoutMeta(b));
}

function withoutMeta(resource: Resource): Omit<Resource, 'meta' | 'id'> {
  const { meta: _meta, id: _id, ...content } = resource;
  return content;
}

/** JSON with object keys sorted, so two equal resources serialise identically whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_name, child: unknown) =>
    child !== null && typeof child === 'object' && !Array.isArray(child)
      ? Object.fromEntries(Object.entries(child).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : child
  );
}

// ---- Write: one transaction (or a few, past Medplum's entry limit), every entry checked ----

/**
 * Medplum refuses a transaction that needs strict isolation (any conditional create) with more than this
 * many entries. A bigger write is split into several transactions, referenced resources first; each entry
 * is idempotent and version-checked, so a retry after a partial write converges.
 */
export const MAX_ENTRIES_PER_TRANSACTION = 8;

async function writeSlots(medplum: FhirClient, slots: Map<string, Slot>): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const changed: [string, Slot][] = [];
  for (const [id, slot] of slots) {
    if (slot.stored?.id) {
      written.set(id, `${slot.key.resourceType}/${slot.stored.id}`);
    }
    if (slot.current && slot.current !== slot.stored) {
      changed.push([id, slot]);
    }
  }
  const resolved = new Map<string, string>();
  for (const chunk of chunksOf(referencedFirst(changed), MAX_ENTRIES_PER_TRANSACTION)) {
    const response = await send(medplum, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: chunk.map(([, slot]) => withResolvedReferences(transactionEntry(slot), resolved)),
    });
    chunk.forEach(([id, slot], index) => {
      const resource = checkEntry(response.entry?.[index], slot);
      if (resource?.id) {
        written.set(id, `${slot.key.resourceType}/${resource.id}`);
        resolved.set(slot.fullUrl, `${slot.key.resourceType}/${resource.id}`);
      }
    });
  }
  return written;
}

/** Orders new resources that others point at (placeholders) before the resources that point at them. */
function referencedFirst(changed: [string, Slot][]): [string, Slot][] {
  const referenced = (slot: Slot): boolean =>
    changed.some(([, other]) => other !== slot && JSON.stringify(other.current).includes(slot.fullUrl));
  return [...changed.filter(([, slot]) => referenced(slot)), ...changed.filter(([, slot]) => !referenced(slot))];
}

function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/** Replaces `urn:uuid` references to resources an earlier transaction created with their `Type/id`. */
function withResolvedReferences(entry: BundleEntry, resolved: Map<string, string>): BundleEntry {
  if (resolved.size === 0) {
    return entry;
  }
  const json = JSON.stringify(entry.resource).replace(/urn:uuid:[0-9a-f-]{36}/g, (urn) => resolved.get(urn) ?? urn);
  return { ...entry, resource: JSON.parse(json) as Resource };
}

function transactionEntry(slot: Slot): BundleEntry {
  const resource = slot.current as Resource;
  const { resourceType } = slot.key;
  if (slot.stored?.id) {
    // Optimistic lock: if another delivery changed the resource since our read, the server answers 412
    // and the vendor's retry re-reads and decides again with the newer state.
    const versionId = slot.stored.meta?.versionId;
    return {
      resource: { ...resource, id: slot.stored.id },
      request: {
        method: 'PUT',
        url: `${resourceType}/${slot.stored.id}`,
        ...(versionId ? { ifMatch: `W/"${versionId}"` } : {}),
      },
    };
  }
  // A new resource keeps only its tags (a tag may be its key); the server assigns the rest of meta.
  const { id: _id, meta, ...content } = resource;
  return {
    fullUrl: slot.fullUrl,
    resource: (meta?.tag ? { ...content, meta: { tag: meta.tag } } : content) as Resource,
    request: { method: 'POST', url: resourceType, ifNoneExist: searchUrl(slot.key).split('?')[1] },
  };
}

/**
 * Throws unless the entry succeeded. Without the project feature `transaction-bundles` the server runs
 * a transaction like a batch: a failed entry is only a status in the response, and nothing is thrown.
 */
function checkEntry(entry: BundleEntry | undefined, slot: Slot): Resource | undefined {
  const status = entry?.response?.status ?? '';
  const { resourceType, system, value } = slot.key;
  if (!status.startsWith('2')) {
    throw new FhirWriteError(
      `Writing ${resourceType} ${system}|${value} failed with HTTP ${status || 'no status'}` +
        `${status.startsWith('412') ? ' (changed by a concurrent delivery)' : ''}; the vendor will retry. ` +
        "If it keeps failing, check the bot's AccessPolicy and the project's transaction-bundles feature."
    );
  }
  const returned = entry?.resource;
  // A conditional create answered 200 found a resource made after our read instead of creating one.
  const foundExisting = !slot.stored && status.startsWith('200');
  const lostCreateRace = foundExisting && !slot.placeholder;
  if (lostCreateRace && !(returned && sameSourceVersion(returned, slot.current as Resource))) {
    // A conditional create found a resource that a concurrent delivery created after our read. Ours was
    // not applied; fail so the vendor redelivers and the retry compares versions against the stored one.
    throw new FhirWriteError(
      `${resourceType} ${system}|${value} was created by a concurrent delivery; the vendor will retry this one.`
    );
  }
  slot.createdConcurrently = foundExisting;
  return returned;
}

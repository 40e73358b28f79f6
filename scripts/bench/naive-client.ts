// The naive baseline, for the benchmark only: what a hand-written bot does when it writes each resource with
// `searchOne` and then `createResource` or `updateResource` (no transaction, no conditional or version-checked
// write, no check of event order, every mapped resource written on every delivery).
//
// To compare the write pattern and nothing else, it reuses the bot's own mapping: the bot is handed this
// client instead of Medplum's. Its one batch read becomes one search per resource; the resources it read come
// back without the bot's source-event stamp, so its ordering and no-change checks have nothing to compare and
// it writes everything, as a naive bot would; its one transaction becomes one create or update per entry.
import type { Bundle, BundleEntry, Extension, Resource, ResourceType } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import type { FhirClient } from '../../src/lib/fhir-sync.ts';
import { SOURCE_EVENT_EXTENSION_URL } from '../../src/lib/fhir-sync.ts';

/** A client for one delivery: it remembers which searches that delivery already made. */
export function naiveClient(medplum: MockClient): FhirClient {
  const searched = new Set<string>();
  return {
    executeBatch: async (bundle: Bundle) =>
      bundle.type === 'transaction'
        ? writeOneByOne(medplum, bundle, searched)
        : searchOneByOne(medplum, bundle, searched),
  } as FhirClient;
}

async function searchOneByOne(medplum: MockClient, bundle: Bundle, searched: Set<string>): Promise<Bundle> {
  const entry: BundleEntry[] = [];
  for (const request of bundle.entry ?? []) {
    const url = request.request?.url ?? '';
    const [resourceType, query] = url.split('?');
    const found = await medplum.searchOne(resourceType as ResourceType, query);
    searched.add(url);
    const matches: BundleEntry[] = found ? [{ resource: withoutSourceEvent(found) }] : [];
    const searchset: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: matches };
    entry.push({ response: { status: '200 OK' }, resource: searchset });
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry };
}

function withoutSourceEvent<T extends Resource>(resource: T): T {
  const extensions = ('extension' in resource ? (resource.extension as Extension[] | undefined) : undefined) ?? [];
  const others = extensions.filter((extension) => extension.url !== SOURCE_EVENT_EXTENSION_URL);
  const { extension: _dropped, ...rest } = resource as T & { extension?: Extension[] };
  return (others.length > 0 ? { ...rest, extension: others } : rest) as T;
}

async function writeOneByOne(medplum: MockClient, bundle: Bundle, searched: Set<string>): Promise<Bundle> {
  const entries = bundle.entry ?? [];
  const references = new Map<string, string>();
  const results: BundleEntry[] = new Array(entries.length);
  for (const index of dependencyOrder(entries)) {
    const entry = withResolvedReferences(entries[index], references);
    results[index] = await writeEntry(medplum, entry, searched);
    const written = results[index].resource;
    if (entries[index].fullUrl && written?.id) {
      references.set(entries[index].fullUrl as string, `${written.resourceType}/${written.id}`);
    }
  }
  return { resourceType: 'Bundle', type: 'transaction-response', entry: results };
}

async function writeEntry(medplum: MockClient, entry: BundleEntry, searched: Set<string>): Promise<BundleEntry> {
  const resource = entry.resource as Resource;
  const request = entry.request;
  if (request?.method === 'PUT') {
    return { response: { status: '200 OK' }, resource: await medplum.updateResource(resource) };
  }
  const criteria = request?.ifNoneExist ? `${request.url}?${request.ifNoneExist}` : undefined;
  if (criteria && !searched.has(criteria)) {
    // Not read before in this delivery (an AuditEvent by tag, say): a naive bot searches before it creates.
    const found = await medplum.searchOne(resource.resourceType, request?.ifNoneExist);
    if (found) {
      return { response: { status: '200 OK' }, resource: found };
    }
  }
  return { response: { status: '201 Created' }, resource: await medplum.createResource(resource) };
}

/** The entry with `urn:uuid` references to resources created earlier in the bundle replaced by their ids. */
function withResolvedReferences(entry: BundleEntry, references: Map<string, string>): BundleEntry {
  if (references.size === 0 || !entry.resource) {
    return entry;
  }
  let json = JSON.stringify(entry.resource);
  for (const [fullUrl, reference] of references) {
    json = json.replaceAll(`"${fullUrl}"`, `"${reference}"`);
  }
  return { ...entry, resource: JSON.parse(json) };
}

/** Entry indexes ordered so that an entry comes after the entries whose `urn:uuid` it references. */
function dependencyOrder(entries: readonly BundleEntry[]): number[] {
  const fullUrls = entries.map((entry) => entry.fullUrl).filter((url): url is string => !!url);
  const needs = entries.map((entry) => {
    const json = JSON.stringify(entry.resource ?? {});
    return fullUrls.filter((url) => url !== entry.fullUrl && json.includes(`"${url}"`));
  });
  const order: number[] = [];
  const done = new Set<string>();
  while (order.length < entries.length) {
    const waiting = entries.map((_entry, index) => index).filter((index) => !order.includes(index));
    // A reference cycle cannot be written one by one; take the entries in bundle order then.
    const next = waiting.find((index) => needs[index].every((url) => done.has(url))) ?? waiting[0];
    order.push(next);
    done.add(entries[next].fullUrl ?? '');
  }
  return order;
}

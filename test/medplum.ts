// A MockClient that behaves like a Medplum server where the bots depend on it: every write is validated
// against FHIR R4 (the server does, MockClient does not), and the requests a bot makes are recorded.
import type { Resource } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import type { RefusedWrite } from '../scripts/lib/fhir-store.ts';
import { createValidatingMedplum } from '../scripts/lib/fhir-store.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** For a Bundle body: its type (batch or transaction) and the request of each entry. */
  readonly bundle?: { type: string; entries: string[] };
}

const refusedWrites: RefusedWrite[] = [];

/** Returns and clears the writes a server would have refused; the setup file fails any test that made one. */
export function takeInvalidWrites(): RefusedWrite[] {
  return refusedWrites.splice(0);
}

export interface TestMedplum extends MockClient {
  readonly requests: RecordedRequest[];
}

/** A fresh, empty in-memory Medplum with write validation and request recording. */
export function createTestMedplum(): TestMedplum {
  const medplum = createValidatingMedplum({ onRefused: (refused) => refusedWrites.push(refused) }) as TestMedplum;
  (medplum as { requests: RecordedRequest[] }).requests = [];
  recordRequests(medplum);
  return medplum;
}

function recordRequests(medplum: TestMedplum): void {
  const fetchClient = medplum.client;
  const mockFetch = fetchClient.mockFetch.bind(fetchClient);
  fetchClient.mockFetch = (url: string, options: { method?: string; body?: string }) => {
    medplum.requests.push(describeRequest(url, options));
    return mockFetch(url, options);
  };
}

function describeRequest(url: string, options: { method?: string; body?: string }): RecordedRequest {
  const method = options.method ?? 'GET';
  const path = url.replace(/^https?:\/\/[^/]+\//, '');
  const body = typeof options.body === 'string' ? safeParse(options.body) : undefined;
  if (body?.resourceType === 'Bundle') {
    const entries = (body.entry ?? []).map(
      (entry: { request?: { method: string; url: string } }) => `${entry.request?.method} ${entry.request?.url}`
    );
    return { method, url: path, bundle: { type: body.type, entries } };
  }
  return { method, url: path };
}

function safeParse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Every stored resource of a type, for assertions. */
export async function allOf<T extends Resource>(medplum: MockClient, resourceType: T['resourceType']): Promise<T[]> {
  return (await medplum.searchResources(resourceType, { _count: '1000' })) as unknown as T[];
}

/** The number of stored versions of a resource, to prove that a redelivery wrote nothing. */
export async function versionCount(medplum: MockClient, resource: Resource): Promise<number> {
  const history = await medplum.readHistory(resource.resourceType, resource.id as string);
  return history.entry?.length ?? 0;
}

/**
 * The content of every stored resource of the given types, without what the server assigns (ids,
 * versions, times) and with references to stored resources reduced to their type, sorted: two stores
 * that hold the same records compare equal whatever ids they handed out.
 */
export async function storedContent(
  medplum: MockClient,
  resourceTypes: Resource['resourceType'][]
): Promise<unknown[]> {
  const resources: Resource[] = [];
  for (const resourceType of resourceTypes) {
    resources.push(...(await allOf(medplum, resourceType)));
  }
  return resources.map(withoutServerIds).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/** A value (a resource, or a bot's result) without server-assigned ids, versions and times. */
export function withoutServerIds(value: unknown): unknown {
  const serverAssigned = new Set(['id', 'versionId', 'lastUpdated']);
  const text = JSON.stringify(value, (name, child) => (serverAssigned.has(name) ? undefined : child));
  return JSON.parse(text.replace(/\b([A-Z][A-Za-z]+)\/[0-9a-f]{8}-[0-9a-f-]{27}/g, '$1/<id>'));
}

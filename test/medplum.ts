// A MockClient that behaves like a Medplum server where the bots depend on it: it validates every
// write against FHIR R4 (the server does, MockClient does not), and it counts the requests a bot makes.
import { validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { MockClient } from '@medplum/mock';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** For a Bundle body: its type (batch or transaction) and the request of each entry. */
  readonly bundle?: { type: string; entries: string[] };
}

export interface InvalidWrite {
  readonly resourceType: string;
  readonly problems: string[];
}

const invalidWrites: InvalidWrite[] = [];

/** Returns and clears the writes a server would have refused; the setup file fails any test that made one. */
export function takeInvalidWrites(): InvalidWrite[] {
  return invalidWrites.splice(0);
}

export interface TestMedplum extends MockClient {
  readonly requests: RecordedRequest[];
}

/** A fresh, empty in-memory Medplum with write validation and request recording. */
export function createTestMedplum(): TestMedplum {
  const medplum = new MockClient({ seedDefaultData: false, cacheTime: 0 }) as TestMedplum;
  (medplum as { requests: RecordedRequest[] }).requests = [];
  recordRequests(medplum);
  validateWrites(medplum);
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

function validateWrites(medplum: TestMedplum): void {
  // Every create and update of MemoryRepository, conditional ones included, ends in createResourceSync.
  const repo = medplum.repo as unknown as { createResourceSync: (resource: Resource, ...rest: unknown[]) => Resource };
  const store = repo.createResourceSync.bind(repo);
  repo.createResourceSync = (resource: Resource, ...rest: unknown[]) => {
    // MockClient seeds its own definitions on the first request; check only what comes after.
    if (medplum.client.initialized) {
      rejectIfInvalid(resource);
    }
    return store(resource, ...rest);
  };
}

/** Records and throws, as the server would answer 400; a bot that swallowed the error still fails its test. */
function rejectIfInvalid(resource: Resource): void {
  let problems: string[];
  try {
    problems = validateResource(resource)
      .filter((issue) => issue.severity === 'error')
      .map((issue) => `${issue.expression?.join(',')}: ${issue.details?.text}`);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome?.issue;
    problems = issues?.map((issue) => `${issue.expression?.join(',')}: ${issue.details?.text}`) ?? [String(err)];
  }
  if (problems.length > 0) {
    invalidWrites.push({ resourceType: resource.resourceType, problems });
    throw new Error(`Invalid ${resource.resourceType}: ${problems.join('; ')}`);
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

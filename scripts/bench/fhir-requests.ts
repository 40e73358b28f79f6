// Counts the FHIR HTTP requests a MockClient receives, by kind, the way test/medplum.ts records them: every
// request of MedplumClient (search, create, update, batch, transaction) goes through `client.mockFetch`.
// Also counts the searches its in-memory repository runs to answer them, which is where its time goes.
import type { MockClient } from '@medplum/mock';

export interface RequestCount {
  total: number;
  /** `GET search`, `POST create`, `PUT update`, `POST batch`, `POST transaction`... */
  readonly byKind: Record<string, number>;
  /**
   * Searches MockClient's repository ran (each scans every stored resource of the type): one per search,
   * and two per conditional create in a transaction. Undefined if @medplum/mock's internals moved.
   */
  storeSearches?: number;
  /** While true, nothing is counted (the benchmark's own checks). */
  paused: boolean;
}

type SearchSync = (...args: unknown[]) => unknown;

export function countRequests(medplum: MockClient): RequestCount {
  const count: RequestCount = { total: 0, byKind: {}, paused: false };
  countStoreSearches(medplum, count);
  const fetchClient = medplum.client;
  const mockFetch = fetchClient.mockFetch.bind(fetchClient);
  fetchClient.mockFetch = (url: string, options: { method?: string; body?: unknown }) => {
    if (!count.paused) {
      const kind = requestKind(url, options);
      count.total++;
      count.byKind[kind] = (count.byKind[kind] ?? 0) + 1;
    }
    return mockFetch(url, options);
  };
  return count;
}

/** MemoryRepository.searchSync is private API of @medplum/fhir-router 5.x; without it the count is left out. */
function countStoreSearches(medplum: MockClient, count: RequestCount): void {
  const repo = medplum.repo as unknown as { searchSync?: SearchSync };
  const searchSync = repo.searchSync?.bind(repo);
  if (!searchSync) {
    return;
  }
  count.storeSearches = 0;
  repo.searchSync = (...args: unknown[]) => {
    if (!count.paused && count.storeSearches !== undefined) {
      count.storeSearches++;
    }
    return searchSync(...args);
  };
}

function requestKind(url: string, options: { method?: string; body?: unknown }): string {
  const method = options.method ?? 'GET';
  const path = new URL(url).pathname.replace(/^\/fhir\/R4\/?/, '');
  if (path === '' && typeof options.body === 'string') {
    // A Bundle posted to the base URL; MedplumClient writes resourceType and type first.
    return `${method} ${/"type":"([a-z-]+)"/.exec(options.body.slice(0, 80))?.[1] ?? 'bundle'}`;
  }
  if (method === 'GET') {
    return url.includes('?') ? 'GET search' : 'GET read';
  }
  return { POST: 'POST create', PUT: 'PUT update', DELETE: 'DELETE', PATCH: 'PATCH' }[method] ?? method;
}

/** Adds one count into a running total. */
export function addCounts(total: RequestCount, more: RequestCount): void {
  total.total += more.total;
  total.storeSearches = more.storeSearches === undefined ? undefined : (total.storeSearches ?? 0) + more.storeSearches;
  for (const [kind, n] of Object.entries(more.byKind)) {
    total.byKind[kind] = (total.byKind[kind] ?? 0) + n;
  }
}

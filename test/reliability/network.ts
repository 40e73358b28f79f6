// The path between a bot's MedplumClient and the in-memory server: a property can let fast-check's
// scheduler choose when each request reaches the server and when its answer comes back, and can make
// chosen requests fail the way a real network or server does.
import type fc from 'fast-check';
import type { TestMedplum } from '../medplum.ts';

type MockFetch = (url: string, options: { method?: string; body?: string }) => Promise<Partial<Response>>;

/** Which requests of a delivery a fault hits: the batch read or the transaction write. */
export type FaultTarget = 'read' | 'transaction';

/**
 * What one HTTP attempt gets. `throw` fails before the server sees the request; `lost-response` lets
 * the server apply it and then loses the answer (the client sees a network error); the statuses are
 * answers from a server that applied nothing.
 */
export type FaultKind = 'throw' | 'lost-response' | '412' | '429' | '500';

export interface Fault {
  readonly target: FaultTarget;
  /** One entry per consecutive HTTP attempt (the client retries 429, 5xx and network errors twice). */
  readonly attempts: readonly FaultKind[];
}

export interface NetworkOptions {
  /** Lets fast-check order request arrivals and responses; without it, requests run as they come. */
  readonly scheduler?: fc.Scheduler;
  /** Faults for the requests to come, consumed in order as matching requests arrive. */
  readonly faults?: Fault[];
  /** Receives every batch read and transaction attempt, and whether it reached the server. */
  readonly attempts?: Attempt[];
}

export interface Attempt {
  readonly target: FaultTarget;
  readonly fault: FaultKind | undefined;
  /** True when the server handled the request (it applied a transaction even if the answer was lost). */
  readonly reachedServer: boolean;
}

/**
 * Installs the network on the store's client and returns the function that removes it.
 *
 * The server handles one request at a time, like a Medplum server whose project has the
 * `transaction-bundles` feature (each transaction is atomic). Entry-level interleaving of a server
 * without it is not modelled: MockClient's conditional create is not atomic, a real server's is.
 */
export function installNetwork(medplum: TestMedplum, options: NetworkOptions = {}): () => void {
  const client = medplum.client as unknown as { mockFetch: MockFetch };
  const serverFetch = client.mockFetch;
  let queue: Promise<unknown> = Promise.resolve();
  const serially: MockFetch = (url, init) => {
    const run = queue.then(() => serverFetch.call(client, url, init));
    queue = run.catch(() => undefined);
    return run;
  };
  const { scheduler, faults, attempts } = options;
  client.mockFetch = async (url, init) => {
    if (scheduler) {
      await scheduler.schedule(Promise.resolve(), `arrives: ${describe(url, init)}`);
    }
    const response = await withFault(faults, attempts, url, init, serially);
    return scheduler ? scheduler.schedule(Promise.resolve(response), `answered: ${describe(url, init)}`) : response;
  };
  return () => {
    client.mockFetch = serverFetch;
  };
}

async function withFault(
  faults: Fault[] | undefined,
  attempts: Attempt[] | undefined,
  url: string,
  init: { method?: string; body?: string },
  fetch: MockFetch
): Promise<Partial<Response>> {
  const target = targetOf(init);
  const fault = target ? faults?.find((f) => f.target === target && f.attempts.length > 0) : undefined;
  const kind = fault?.attempts[0];
  if (target) {
    attempts?.push({ target, fault: kind, reachedServer: kind === undefined || kind === 'lost-response' });
  }
  if (!fault) {
    return fetch(url, init);
  }
  faults?.splice(faults.indexOf(fault), 1, { ...fault, attempts: fault.attempts.slice(1) });
  switch (kind) {
    case 'throw':
      throw new TypeError('fetch failed (injected: connection reset before the request was sent)');
    case 'lost-response':
      await fetch(url, init);
      throw new TypeError('fetch failed (injected: connection reset after the server applied the request)');
    default:
      return errorResponse(Number(kind));
  }
}

function targetOf(init: { method?: string; body?: string }): FaultTarget | undefined {
  if (init.method !== 'POST' || typeof init.body !== 'string') {
    return undefined;
  }
  const type = /"type"\s*:\s*"(batch|transaction)"/.exec(init.body.slice(0, 200))?.[1];
  return type === 'transaction' ? 'transaction' : type === 'batch' ? 'read' : undefined;
}

function describe(url: string, init: { method?: string; body?: string }): string {
  return `${init.method ?? 'GET'} ${url.replace(/^https?:\/\/[^/]+\//, '')} ${targetOf(init) ?? ''}`.trim();
}

const STATUS_TEXT: Record<number, string> = {
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** An answer from a server that applied nothing, with the OperationOutcome Medplum sends. */
function errorResponse(status: number): Partial<Response> {
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: status === 412 ? 'conflict' : status === 429 ? 'throttled' : 'exception',
        details: { text: STATUS_TEXT[status] },
      },
    ],
  };
  return {
    ok: false,
    status,
    statusText: STATUS_TEXT[status],
    headers: new Headers({ 'content-type': 'application/fhir+json' }),
    json: () => Promise.resolve(outcome),
    text: () => Promise.resolve(JSON.stringify(outcome)),
  };
}

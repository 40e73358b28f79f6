// An in-process Medplum server on 127.0.0.1 that implements the routes deploy uses, with the
// behaviour deploy depends on taken from Medplum's server (packages/server/src/admin,
// fhir/operations/deploy.ts): client credentials log-in, FHIR create/read/update/search with R4
// validation on write, the project admin API (bot, client, members, secrets) and `$deploy`. It
// records every request so tests can assert them.
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type {
  AccessPolicy,
  OperationOutcome,
  Project,
  ProjectMembership,
  ProjectSetting,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMedplumOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Whether the deploying client's membership is a project admin. */
  readonly admin?: boolean;
  readonly features?: Project['features'];
  readonly secrets?: ProjectSetting[];
  /**
   * Behave like Medplum 5.0: the raw-body flag is `webhookRawBodyEnabled`, and `rawBody` is
   * refused.
   */
  readonly legacyRawBody?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, decoded: `/fhir/R4/Bot?identifier=...`. */
  readonly path: string;
  readonly body: unknown;
}

/** The answer the next `$deploy` calls get instead of a successful deployment. */
export interface DeployAnswer {
  readonly status: number;
  readonly outcome: OperationOutcome;
}

export interface FakeMedplum {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly projectId: string;
  readonly requests: RecordedRequest[];
  deployAnswer?: DeployAnswer;
  /** Every stored resource of a type. */
  all<T extends Resource>(resourceType: T['resourceType']): T[];
  read<T extends Resource>(resourceType: T['resourceType'], id: string): T;
  /** Stores a resource as if someone had made it in the Medplum app. */
  put<T extends Resource>(resource: T): T;
  /** The text of a Binary's content. */
  binaryText(id: string): string;
  project(): Project;
  /** Requests that could change something: not GETs, not the log-in. */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

interface ParsedRequest {
  readonly method: string;
  readonly url: URL;
  readonly params: string[];
  readonly body: unknown;
  readonly authorization?: string;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

export async function startFakeMedplum(options: FakeMedplumOptions = {}): Promise<FakeMedplum> {
  const state = new FakeState(options);
  const server = createServer((req, res) => void serve(state, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.baseUrl = `http://127.0.0.1:${port}/`;
  return {
    get baseUrl() {
      return state.baseUrl;
    },
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    projectId: state.projectId,
    requests: state.requests,
    get deployAnswer() {
      return state.deployAnswer;
    },
    set deployAnswer(answer: DeployAnswer | undefined) {
      state.deployAnswer = answer;
    },
    all: (resourceType) => state.all(resourceType),
    read: (resourceType, id) => state.get(resourceType, id) as never,
    put: (resource) => state.store(resource),
    binaryText: (id) => state.binaries.get(id) ?? '',
    project: () => state.get('Project', state.projectId) as Project,
    writes: () => state.requests.filter((r) => r.method !== 'GET' && r.path !== '/oauth2/token'),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

class FakeState {
  baseUrl = '';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly projectId = 'project-1';
  readonly options: FakeMedplumOptions;
  readonly requests: RecordedRequest[] = [];
  readonly resources = new Map<string, Resource>();
  readonly binaries = new Map<string, string>();
  deployAnswer?: DeployAnswer;
  token?: string;
  private nextId = 1;

  constructor(options: FakeMedplumOptions) {
    this.options = options;
    this.clientId = options.clientId ?? 'admin-client';
    this.clientSecret = options.clientSecret ?? 'admin-secret';
    this.store({
      resourceType: 'Project',
      id: this.projectId,
      name: 'Webhook test project',
      features: options.features ?? ['bots', 'transaction-bundles'],
      secret: options.secrets ?? [],
    } as Project);
  }

  newId(resourceType: string): string {
    return `${resourceType.toLowerCase()}-${this.nextId++}`;
  }

  all<T extends Resource>(resourceType: string): T[] {
    return [...this.resources.values()].filter((r) => r.resourceType === resourceType) as T[];
  }

  get(resourceType: string, id: string): Resource | undefined {
    return this.resources.get(`${resourceType}/${id}`);
  }

  store<T extends Resource>(resource: T): T {
    const id = resource.id ?? this.newId(resource.resourceType);
    const previous = this.get(resource.resourceType, id);
    const version = Number(previous?.meta?.versionId ?? 0) + 1;
    const meta = { ...resource.meta, versionId: String(version), lastUpdated: new Date().toISOString() };
    const stored = { ...resource, id, meta } as T;
    this.resources.set(`${resource.resourceType}/${id}`, stored);
    return stored;
  }
}

async function serve(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request = await parseRequest(req);
  state.requests.push({
    method: request.method,
    path: decodeURIComponent(request.url.pathname + request.url.search),
    body: request.body,
  });
  let answer: Answer;
  try {
    answer = route(state, request);
  } catch (err) {
    const outcome = err instanceof OperationOutcomeError ? err.outcome : outcomeOf((err as Error).message);
    answer = { status: 400, body: outcome };
  }
  res.writeHead(answer.status, { 'content-type': 'application/fhir+json' });
  res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
}

async function parseRequest(req: IncomingMessage): Promise<ParsedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  let body: unknown = text === '' ? undefined : text;
  if (text && type.includes('json')) {
    body = JSON.parse(text);
  } else if (text && type.includes('x-www-form-urlencoded')) {
    body = Object.fromEntries(new URLSearchParams(text));
  }
  return {
    method: req.method ?? 'GET',
    url: new URL(req.url ?? '/', 'http://127.0.0.1'),
    params: [],
    body,
    authorization: req.headers.authorization,
  };
}

function route(state: FakeState, request: ParsedRequest): Answer {
  const { method, url } = request;
  if (method === 'POST' && url.pathname === '/oauth2/token') {
    return token(state, request);
  }
  if (request.authorization !== `Bearer ${state.token}` || !state.token) {
    return { status: 401, body: outcomeOf('Unauthorized', 'login') };
  }
  for (const [pattern, verb, handler] of ROUTES) {
    const match = verb === method ? pattern.exec(url.pathname) : null;
    if (match) {
      return handler({ ...request, params: match.slice(1) }, state);
    }
  }
  return { status: 404, body: outcomeOf(`No route for ${method} ${url.pathname}`, 'not-found') };
}

type RouteHandler = (request: ParsedRequest, state: FakeState) => Answer;

const ROUTES: [RegExp, string, RouteHandler][] = [
  [/^\/auth\/me$/, 'GET', (_r, state) => ({ status: 200, body: me(state) })],
  [/^\/admin\/projects\/([^/]+)$/, 'GET', (r, state) => adminProject(state, r)],
  [/^\/admin\/projects\/([^/]+)\/bot$/, 'POST', (r, state) => adminCreate(state, r, 'Bot')],
  [/^\/admin\/projects\/([^/]+)\/client$/, 'POST', (r, state) => adminCreate(state, r, 'ClientApplication')],
  [/^\/admin\/projects\/([^/]+)\/members\/([^/]+)$/, 'POST', (r, state) => adminMember(state, r)],
  [/^\/admin\/projects\/([^/]+)\/secrets$/, 'POST', (r, state) => adminSecrets(state, r)],
  [/^\/fhir\/R4\/Bot\/([^/]+)\/\$deploy$/, 'POST', (r, state) => deploy(state, r)],
  [/^\/fhir\/R4\/Binary$/, 'POST', (r, state) => createBinary(state, r)],
  [/^\/fhir\/R4\/([A-Za-z]+)$/, 'GET', (r, state) => search(state, r)],
  [/^\/fhir\/R4\/([A-Za-z]+)$/, 'POST', (r, state) => create(state, r)],
  [/^\/fhir\/R4\/([A-Za-z]+)\/([^/]+)$/, 'GET', (r, state) => read(state, r)],
  [/^\/fhir\/R4\/([A-Za-z]+)\/([^/]+)$/, 'PUT', (r, state) => update(state, r)],
];

function token(state: FakeState, request: ParsedRequest): Answer {
  const form = request.body as Record<string, string>;
  if (form.grant_type !== 'client_credentials') {
    return { status: 400, body: { error: 'invalid_request', error_description: 'Unsupported grant type' } };
  }
  if (form.client_id !== state.clientId) {
    return { status: 400, body: { error: 'invalid_request', error_description: 'Invalid client' } };
  }
  if (form.client_secret !== state.clientSecret) {
    return { status: 400, body: { error: 'invalid_request', error_description: 'Invalid secret' } };
  }
  const exp = Math.floor(Date.now() / 1000) + 3600;
  // MedplumClient checks client_id and exp, and treats a token with a login_id as Medplum's own.
  state.token = fakeJwt({ client_id: state.clientId, login_id: 'login-1', exp });
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      access_token: state.token,
      expires_in: 3600,
      project: { reference: `Project/${state.projectId}` },
      profile: { reference: `ClientApplication/${state.clientId}` },
    },
  };
}

function me(state: FakeState): unknown {
  return {
    profile: { resourceType: 'ClientApplication', id: state.clientId, name: 'deploy admin' },
    project: { resourceType: 'Project', id: state.projectId, name: 'Webhook test project' },
    membership: {
      resourceType: 'ProjectMembership',
      id: 'admin-membership',
      admin: state.options.admin ?? true,
    },
  };
}

function requireAdmin(state: FakeState, request: ParsedRequest): void {
  if (!(state.options.admin ?? true) || request.params[0] !== state.projectId) {
    throw new OperationOutcomeError(outcomeOf('Forbidden', 'forbidden'));
  }
}

function adminProject(state: FakeState, request: ParsedRequest): Answer {
  requireAdmin(state, request);
  const project = state.get('Project', state.projectId) as Project;
  return { status: 200, body: { project: { id: project.id, name: project.name, secret: project.secret } } };
}

/** Like Medplum's createBot/createClient: the resource, then a membership whose profile is it. */
function adminCreate(state: FakeState, request: ParsedRequest, resourceType: 'Bot' | 'ClientApplication'): Answer {
  requireAdmin(state, request);
  const body = request.body as AdminCreateBody;
  if (!body?.name) {
    throw new OperationOutcomeError(outcomeOf(`${resourceType === 'Bot' ? 'Bot' : 'Client'} name is required`));
  }
  const secret = randomBytes(32).toString('hex');
  const resource =
    resourceType === 'Bot'
      ? defaultBot(state, body)
      : { resourceType, name: body.name, description: body.description, secret };
  const created = state.store(resource as Resource);
  const reference = { reference: `${resourceType}/${created.id}` };
  state.store<ProjectMembership>({
    resourceType: 'ProjectMembership',
    project: { reference: `Project/${state.projectId}` },
    user: reference,
    profile: reference,
    accessPolicy: body.accessPolicy as Reference<AccessPolicy> | undefined,
  });
  return { status: 201, body: created };
}

interface AdminCreateBody {
  readonly name?: string;
  readonly description?: string;
  readonly runtimeVersion?: string;
  readonly accessPolicy?: Reference;
}

function defaultBot(state: FakeState, body: AdminCreateBody): Resource {
  const binary = state.store({ resourceType: 'Binary', contentType: 'text/typescript' } as Resource);
  state.binaries.set(binary.id as string, 'export async function handler() {}');
  return {
    resourceType: 'Bot',
    name: body.name,
    description: body.description,
    runtimeVersion: (body.runtimeVersion ?? 'vmcontext') as 'vmcontext',
    sourceCode: { contentType: 'text/typescript', title: 'index.ts', url: `Binary/${binary.id}` },
  };
}

function adminMember(state: FakeState, request: ParsedRequest): Answer {
  requireAdmin(state, request);
  const membership = request.body as ProjectMembership;
  if (membership?.resourceType !== 'ProjectMembership' || membership.id !== request.params[1]) {
    throw new OperationOutcomeError(outcomeOf('Forbidden', 'forbidden'));
  }
  return { status: 200, body: state.store(validated(state, membership)) };
}

function adminSecrets(state: FakeState, request: ParsedRequest): Answer {
  requireAdmin(state, request);
  const project = state.get('Project', state.projectId) as Project;
  return { status: 200, body: state.store({ ...project, secret: request.body as ProjectSetting[] }) };
}

/** Like Medplum's $deploy: saves the code as a Binary and points executableCode at it. */
function deploy(state: FakeState, request: ParsedRequest): Answer {
  const bot = state.get('Bot', request.params[0]);
  const body = request.body as { code?: string; filename?: string } | undefined;
  if (!bot) {
    return { status: 404, body: outcomeOf('Not found', 'not-found') };
  }
  if (!body?.code) {
    return { status: 400, body: outcomeOf('Missing code') };
  }
  if (!(state.get('Project', state.projectId) as Project).features?.includes('bots')) {
    return { status: 400, body: outcomeOf('Bots not enabled') };
  }
  if (state.deployAnswer) {
    return { status: state.deployAnswer.status, body: state.deployAnswer.outcome };
  }
  const binary = state.store({ resourceType: 'Binary', contentType: 'application/javascript' } as Resource);
  state.binaries.set(binary.id as string, body.code);
  const executableCode = {
    contentType: 'application/javascript',
    url: `Binary/${binary.id}`,
    title: body.filename,
  };
  state.store({ ...bot, executableCode } as Resource);
  return { status: 200, body: { resourceType: 'OperationOutcome', id: 'allok', issue: [allOkIssue] } };
}

function createBinary(state: FakeState, request: ParsedRequest): Answer {
  const binary = state.store({ resourceType: 'Binary', contentType: 'text/typescript' } as Resource);
  state.binaries.set(binary.id as string, String(request.body ?? ''));
  return { status: 201, body: { ...binary, url: `${state.baseUrl}storage/${binary.id}?Signature=x` } };
}

/** The search parameters deploy uses; any other is refused, so a typo in deploy fails its tests. */
const SEARCH_MATCHERS: Record<string, (resource: any, value: string) => boolean> = {
  identifier: (r, value) => (r.identifier ?? []).some((id: any) => `${id.system}|${id.value}` === value),
  _tag: (r, value) => (r.meta?.tag ?? []).some((tag: any) => `${tag.system}|${tag.code}` === value),
  // Medplum's string search matches prefixes, case-insensitively.
  name: (r, value) => typeof r.name === 'string' && r.name.toLowerCase().startsWith(value.toLowerCase()),
  profile: (r, value) => r.profile?.reference === value,
};

function search(state: FakeState, request: ParsedRequest): Answer {
  const [resourceType] = request.params;
  let matches = state.all(resourceType);
  for (const [name, value] of request.url.searchParams) {
    const matcher = SEARCH_MATCHERS[name];
    if (!matcher) {
      throw new OperationOutcomeError(outcomeOf(`Unknown search parameter: ${name}`));
    }
    matches = matches.filter((resource) => matcher(resource, value));
  }
  const entry = matches.map((resource) => ({ resource }));
  return { status: 200, body: { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry } };
}

function create(state: FakeState, request: ParsedRequest): Answer {
  const resource = request.body as Resource;
  if (resource?.resourceType !== request.params[0]) {
    throw new OperationOutcomeError(outcomeOf('Incorrect resource type'));
  }
  const { id: _id, ...rest } = resource;
  return { status: 201, body: state.store(validated(state, rest as Resource)) };
}

function read(state: FakeState, request: ParsedRequest): Answer {
  const resource = state.get(request.params[0], request.params[1]);
  if (!resource) {
    return { status: 404, body: outcomeOf('Not found', 'not-found') };
  }
  return { status: 200, body: resource };
}

function update(state: FakeState, request: ParsedRequest): Answer {
  const [resourceType, id] = request.params;
  const resource = request.body as Resource;
  if (!state.get(resourceType, id)) {
    return { status: 404, body: outcomeOf('Not found', 'not-found') };
  }
  if (resource?.resourceType !== resourceType || resource.id !== id) {
    throw new OperationOutcomeError(outcomeOf('Incorrect resource type or id'));
  }
  return { status: 200, body: state.store(validated(state, resource)) };
}

/** Validates against FHIR R4 and Medplum's profiles, as the server does on every write. */
function validated<T extends Resource>(state: FakeState, resource: T): T {
  if (state.options.legacyRawBody && resource.resourceType === 'Bot') {
    const { webhookRawBodyEnabled: _known, ...rest } = resource as T & { webhookRawBodyEnabled?: boolean };
    if ('rawBody' in rest) {
      const text = 'Invalid additional property "rawBody"';
      throw new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'structure', details: { text }, expression: ['Bot.rawBody'] }],
      });
    }
    validateResource(rest as Resource);
    return resource;
  }
  validateResource(resource);
  return resource;
}

const allOkIssue = { severity: 'information', code: 'informational', details: { text: 'All OK' } } as const;

function outcomeOf(text: string, code = 'invalid'): OperationOutcome {
  const issue = { severity: 'error', code: code as 'invalid', details: { text } } as const;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

function fakeJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.signature`;
}

// `npm start`: a local stand-in for the Medplum routes a webhook hits, with an in-memory FHIR store.
//
//   POST|GET /fhir/R4/Bot/{name}/$execute   HTTP Basic auth (a ClientApplication's id and secret), as on Medplum
//   POST     /webhook/{name}                no auth; the bot gets the raw JSON text, as with webhookRawBodyEnabled
//   GET      /fhir/R4/{type}[/{id}[/_history]]   read what the bots wrote (no auth: loopback only)
//
// Bots run from their built bundles in dist/, in a node:vm context with exactly the globals of Medplum's
// VM-context runtime. Every write is validated against FHIR R4 as the server does, and every execution
// writes an AuditEvent with the bot's console output.
import {
  allOk,
  badRequest,
  ContentType,
  getStatus,
  isResourceType,
  notFound,
  OperationOutcomeError,
  unauthorized,
} from '@medplum/core';
import type { ClientApplication, OperationOutcome, ProjectSetting, Reference } from '@medplum/fhirtypes';
import type { MockClient } from '@medplum/mock';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { ClientCredentials } from './lib/basic-auth.ts';
import { isAuthorized, localCredentials } from './lib/basic-auth.ts';
import type { BotDefinition } from './lib/bot-config.ts';
import { loadBots } from './lib/bot-config.ts';
import type { ExecutionResult } from './lib/execution.ts';
import { attributeWrite, executeBot } from './lib/execution.ts';
import { createValidatingMedplum } from './lib/fhir-store.ts';
import { DEFAULT_HOST, DEFAULT_PORT, executeUrl, webhookUrl } from './lib/local-routes.ts';
import type { RefusedWrite } from './lib/fhir-store.ts';
import { executeInput, queryInput, rawWebhookInput, UnreadableBodyError } from './lib/request-body.ts';
import type { ResolvedSecret, SecretSelection } from './lib/secrets.ts';
import { resolveSecrets, secretNamesWithRotation, toProjectSecrets } from './lib/secrets.ts';
import { demoSecrets } from './lib/signers/index.ts';

/** Medplum's default JSON body limit. */
const MAX_BODY_BYTES = 1024 * 1024;
/** How many executions the runner remembers for `executions` (tests and the demo read them). */
const EXECUTION_HISTORY = 1000;
/** Request content types Medplum echoes as the response type; anything else is answered as FHIR JSON. */
const ECHOED_CONTENT_TYPES: string[] = [ContentType.JSON, ContentType.FHIR_JSON, ContentType.TEXT, ContentType.HL7_V2];

export interface RunnerOptions {
  /** 0 picks a free port. Default 8103. */
  readonly port?: number;
  readonly host?: string;
  /** The medplum.config.json listing the bots. */
  readonly configPath?: string;
  /** Where the bundles are, instead of each bot's `dist` directory. */
  readonly distDir?: string;
  /** Secret values that win over the environment and `.env`. */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The `.env` file to read, or false to read none. Default: .env at the repository root. */
  readonly envFile?: string | false;
  /** Fall back to the signers' fixed demo values for secrets nobody set. Default true. */
  readonly useDemoSecrets?: boolean;
  /** The ClientApplication whose Basic credentials `$execute` accepts. */
  readonly credentials?: ClientCredentials;
  /** One line per request; default console.log. */
  readonly log?: (line: string) => void;
  /** Each line a bot logs, as it logs it; default: not shown. */
  readonly echoBotOutput?: (botName: string, line: string) => void;
}

/** What the runner remembers of one execution. */
export interface ExecutionSummary extends ExecutionResult {
  readonly bot: string;
  readonly route: 'execute' | 'webhook';
  readonly status: number;
}

export interface Runner {
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  readonly medplum: MockClient;
  readonly bots: readonly BotDefinition[];
  readonly credentials: ClientCredentials;
  readonly secrets: ReadonlyMap<string, ResolvedSecret>;
  /** The most recent executions, oldest first. */
  readonly executions: readonly ExecutionSummary[];
  /** Writes a Medplum server would have refused (each one also failed its request). */
  readonly refusedWrites: readonly RefusedWrite[];
  executeUrl(botName: string): string;
  webhookUrl(botName: string): string;
  close(): Promise<void>;
}

interface RunnerState {
  readonly medplum: MockClient;
  readonly bots: readonly BotDefinition[];
  readonly credentials: ClientCredentials;
  readonly projectSecrets: Record<string, ProjectSetting>;
  readonly requester: Reference<ClientApplication>;
  readonly executions: ExecutionSummary[];
  readonly log: (line: string) => void;
  readonly echo?: (botName: string, line: string) => void;
}

/** Starts the runner and resolves once it listens. */
export async function startRunner(options: RunnerOptions = {}): Promise<Runner> {
  const bots = loadBots({ configPath: options.configPath, distDir: options.distDir });
  const secrets = resolveSecrets(secretSelection(bots), {
    explicit: options.secrets,
    env: options.env,
    envFile: options.envFile,
    demoValues: options.useDemoSecrets === false ? {} : demoSecrets(),
  });
  const refusedWrites: RefusedWrite[] = [];
  const medplum = createValidatingMedplum({ onWrite: attributeWrite, onRefused: (r) => refusedWrites.push(r) });
  const credentials = options.credentials ?? localCredentials(options.env);
  const requester = await seedProject(medplum, bots, credentials);
  const state: RunnerState = {
    medplum,
    bots,
    credentials,
    projectSecrets: toProjectSecrets(secrets),
    requester,
    executions: [],
    log: options.log ?? console.log,
    echo: options.echoBotOutput,
  };
  const server = createServer((req, res) => void handleRequest(state, req, res));
  const url = await listen(server, options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_HOST);
  return {
    url,
    medplum,
    bots,
    credentials,
    secrets,
    executions: state.executions,
    refusedWrites,
    executeUrl: (name) => executeUrl(url, name),
    webhookUrl: (name) => webhookUrl(url, name),
    close: () => closeServer(server),
  };
}

/**
 * What a bot may read: on Medplum every bot sees all of the project's secrets. Locally the project's secrets
 * are the ones medplum.config.json declares (with their `_PREVIOUS` rotation twins) and every variable named
 * after a bot (`OKTA_...` for okta), so optional settings such as OKTA_WEBHOOK_SECRET_HEADER work from `.env`.
 */
function secretSelection(bots: readonly BotDefinition[]): SecretSelection {
  return {
    names: secretNamesWithRotation(bots.flatMap((bot) => bot.secrets)),
    prefixes: bots.map((bot) => `${bot.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`),
  };
}

/** One Bot per configured bot (id = name) and the ClientApplication whose credentials `$execute` accepts. */
async function seedProject(
  medplum: MockClient,
  bots: readonly BotDefinition[],
  credentials: ClientCredentials
): Promise<Reference<ClientApplication>> {
  for (const bot of bots) {
    await medplum.updateResource({ resourceType: 'Bot', id: bot.name, name: bot.name, runtimeVersion: 'vmcontext' });
  }
  const client = await medplum.updateResource<ClientApplication>({
    resourceType: 'ClientApplication',
    id: credentials.clientId,
    name: 'Local webhook client',
    description: 'Stand-in for the ClientApplication whose id and secret go into a vendor dashboard URL.',
  });
  return { reference: `ClientApplication/${client.id}`, display: client.name };
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`Port ${port} on ${host} is in use (another runner or a local Medplum?); pass --port 8104.`));
      } else {
        reject(err);
      }
    });
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve(`http://${host}:${address.port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------------------------------------
// Requests

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly bot?: string;
  readonly writes?: number;
}

async function handleRequest(state: RunnerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://localhost');
  let reply: Reply;
  try {
    const body = await readBody(req);
    reply = await route(state, { req, url, body });
  } catch (err) {
    reply = errorReply(err);
  }
  send(res, reply);
  const duration = Math.round(performance.now() - started);
  const writes = reply.writes === undefined ? '' : ` ${reply.writes} written`;
  state.log(`${req.method} ${url.pathname} ${reply.bot ?? '-'} ${reply.status} ${duration}ms${writes}`);
}

interface RoutedRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly body: string;
}

async function route(state: RunnerState, request: RoutedRequest): Promise<Reply> {
  const segments = request.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = request.req.method ?? 'GET';
  const [first, second, third, fourth, fifth] = segments;
  if (first === 'fhir' && second === 'R4' && third === 'Bot' && fifth === '$execute' && segments.length === 5) {
    return method === 'POST' || method === 'GET' ? execute(state, request, fourth) : methodNotAllowed();
  }
  if (first === 'webhook' && segments.length === 2) {
    return method === 'POST' ? webhook(state, request, second) : methodNotAllowed();
  }
  if (first === 'fhir' && second === 'R4' && method === 'GET' && segments.length >= 3 && segments.length <= 5) {
    return readFhir(state.medplum, segments.slice(2), request.url.search);
  }
  if (segments.length === 0 && method === 'GET') {
    return { status: 200, body: index(state, request.req) };
  }
  return { status: 404, body: outcome(notFound, `No route for ${method} ${request.url.pathname}; see GET /.`) };
}

async function execute(state: RunnerState, request: RoutedRequest, key: string): Promise<Reply> {
  if (!isAuthorized(request.req.headers.authorization, state.credentials)) {
    // As on Medplum: a missing or wrong ClientApplication id or secret never reaches the bot.
    return { status: 401, body: unauthorized };
  }
  const bot = findBot(state, key);
  if (!bot) {
    return unknownBot(state, key);
  }
  const contentType = request.req.headers['content-type'] ?? '';
  const input =
    request.req.method === 'GET' ? queryInput(request.url.searchParams) : executeInput(request.body, contentType);
  return run(state, { bot, input, request, route: 'execute' });
}

async function webhook(state: RunnerState, request: RoutedRequest, key: string): Promise<Reply> {
  const bot = findBot(state, key);
  if (!bot) {
    return unknownBot(state, key);
  }
  const input = rawWebhookInput(request.body, request.req.headers['content-type']);
  return run(state, { bot, input, request, route: 'webhook' });
}

interface Run {
  readonly bot: BotDefinition;
  readonly input: unknown;
  readonly request: RoutedRequest;
  readonly route: 'execute' | 'webhook';
}

async function run(state: RunnerState, { bot, input, request, route }: Run): Promise<Reply> {
  const contentType = request.req.headers['content-type'] ?? '';
  const result = await executeBot(
    { medplum: state.medplum, echo: state.echo },
    {
      bot,
      input,
      contentType,
      headers: { ...request.req.headers },
      secrets: state.projectSecrets,
      requester: route === 'execute' ? state.requester : undefined,
    }
  );
  const status = result.success ? 200 : 400;
  remember(state.executions, { ...result, bot: bot.name, route, status });
  return {
    status,
    body: responseBody(result),
    contentType: ECHOED_CONTENT_TYPES.includes(contentType) ? contentType : ContentType.FHIR_JSON,
    bot: bot.name,
    writes: result.writes.length,
  };
}

/** As Medplum: the return value as the body; nothing returned -> an OperationOutcome; a throw -> 400 with the log. */
function responseBody(result: ExecutionResult): unknown {
  if (!result.success) {
    return badRequest(result.log);
  }
  if (result.returnValue === undefined) {
    return allOk;
  }
  return typeof result.returnValue === 'number' ? String(result.returnValue) : result.returnValue;
}

function remember(executions: ExecutionSummary[], summary: ExecutionSummary): void {
  executions.push(summary);
  if (executions.length > EXECUTION_HISTORY) {
    executions.splice(0, executions.length - EXECUTION_HISTORY);
  }
}

function findBot(state: RunnerState, key: string): BotDefinition | undefined {
  return state.bots.find((bot) => bot.name === key);
}

function unknownBot(state: RunnerState, key: string): Reply {
  const known = state.bots.map((bot) => bot.name).join(', ') || 'none';
  return { status: 404, body: outcome(notFound, `No bot named ${key} in medplum.config.json; known: ${known}.`) };
}

function methodNotAllowed(): Reply {
  return { status: 405, body: badRequest('Method not allowed on this route; see GET /.') };
}

/** GET /fhir/R4/{type}, /{type}/{id}, /{type}/{id}/_history, answered by the in-memory store. */
async function readFhir(medplum: MockClient, path: string[], search: string): Promise<Reply> {
  const [resourceType, id, history] = path;
  const readable = isResourceType(resourceType) && (history === undefined || (id && history === '_history'));
  if (!readable) {
    return { status: 404, body: outcome(notFound, `Not a readable FHIR path: ${path.join('/')}.`) };
  }
  const body = await medplum.get(`fhir/R4/${path.map(encodeURIComponent).join('/')}${search}`);
  return { status: 200, body };
}

function index(state: RunnerState, req: IncomingMessage): unknown {
  const base = `http://${req.headers.host ?? 'localhost'}`;
  return {
    description: 'Local stand-in for the Medplum routes a webhook hits; data lives in memory until the runner stops.',
    bots: state.bots.map((bot) => ({
      name: bot.name,
      execute: `${base}/fhir/R4/Bot/${bot.name}/$execute (HTTP Basic auth)`,
      webhook: `${base}/webhook/${bot.name} (raw body)`,
    })),
    browse: [`${base}/fhir/R4/AuditEvent`, `${base}/fhir/R4/Bot`],
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP plumbing

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on('data', (chunk: Uint8Array) => {
      size += chunk.length;
      // Past the limit, keep reading (and dropping) so the client still gets its 413.
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        reject(new PayloadTooLarge());
      } else {
        resolve(new TextDecoder().decode(concat(chunks)));
      }
    });
    req.on('error', reject);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

class PayloadTooLarge extends Error {}

function errorReply(err: unknown): Reply {
  if (err instanceof UnreadableBodyError) {
    return { status: 400, body: badRequest(err.message) };
  }
  if (err instanceof URIError) {
    return { status: 400, body: badRequest('The path is not valid percent-encoding.') };
  }
  if (err instanceof PayloadTooLarge) {
    return { status: 413, body: badRequest(`The body is larger than ${MAX_BODY_BYTES} bytes.`) };
  }
  if (err instanceof OperationOutcomeError) {
    return { status: getStatus(err.outcome), body: err.outcome };
  }
  return { status: 500, body: badRequest(`Local runner error: ${(err as Error)?.message ?? String(err)}`) };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) {
    return;
  }
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': `${reply.contentType ?? ContentType.FHIR_JSON}; charset=utf-8` });
  res.end(text);
}

function outcome(base: OperationOutcome, text: string): OperationOutcome {
  return { ...base, issue: [{ severity: 'error', code: base.issue?.[0]?.code ?? 'processing', details: { text } }] };
}

// ---------------------------------------------------------------------------------------------------------
// npm start

function describeStartup(runner: Runner): string[] {
  const { clientId, clientSecret } = runner.credentials;
  const withAuth = runner.url.replace('://', `://${clientId}:${clientSecret}@`);
  const lines = [`Local Medplum runner on ${runner.url}: in-memory FHIR store, stop with Ctrl+C.`];
  const width = Math.max(...runner.bots.map((bot) => bot.name.length));
  for (const bot of runner.bots) {
    const name = bot.name.padEnd(width);
    lines.push(`  ${name}  POST/GET ${executeUrl(withAuth, bot.name)}`);
    lines.push(`  ${name}  POST     ${runner.webhookUrl(bot.name)}  (raw body, as webhookRawBodyEnabled)`);
  }
  const declared = runner.bots.flatMap((bot) => bot.secrets);
  for (const name of new Set([...declared, ...runner.secrets.keys()])) {
    const secret = runner.secrets.get(name);
    lines.push(`  secret ${name}: ${secret ? `from ${secret.origin}` : 'NOT SET (set it in .env)'}`);
  }
  lines.push(`  browse: ${runner.url}/fhir/R4/AuditEvent  (one per execution, with the bot's console output)`);
  return lines;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      config: { type: 'string' },
      dist: { type: 'string' },
      'no-demo-secrets': { type: 'boolean' },
    },
  });
  const port = Number(values.port ?? process.env.PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port ${values.port ?? process.env.PORT} is not a port number; pass 0-65535.`);
  }
  const runner = await startRunner({
    port,
    configPath: values.config,
    distDir: values.dist,
    useDemoSecrets: !values['no-demo-secrets'],
    echoBotOutput: (bot, line) => console.log(`    [${bot} console] ${line}`),
  });
  describeStartup(runner).forEach((line) => console.log(line));
  const stop = (): void => void runner.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(`local runner: ${err.message}`);
    process.exit(1);
  });
}

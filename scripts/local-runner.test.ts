// End-to-end tests of the local runner, `send` and `demo`, over HTTP on loopback. The first part runs a
// small probe bot (scripts/lib/testing/probe-bot.ts) so the runner's own behaviour is pinned down whatever
// state the real bots are in; the second runs every real bot of medplum.config.json that has a source.
import type { Account, AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from './demo.ts';
import { basicAuthorization } from './lib/basic-auth.ts';
import { loadBots, REPO_ROOT } from './lib/bot-config.ts';
import { postDelivery, signSample } from './lib/deliver.ts';
import type { PostResult } from './lib/deliver.ts';
import { readSamples } from './lib/samples.ts';
import { resolveSecrets } from './lib/secrets.ts';
import type { Delivery, Signer } from './lib/signers/index.ts';
import { demoSecrets, findSigner } from './lib/signers/index.ts';
import type { Runner } from './local-runner.ts';
import { startRunner } from './local-runner.ts';
import { answerIsExpected, prepareSend } from './send.ts';

const PROBE_SOURCE = join(REPO_ROOT, 'scripts', 'lib', 'testing', 'probe-bot.ts');
const STRIPE_SECRET = 'whsec_test_probe_secret';
/** The globals of Medplum's VM-context bot runtime (verified on Medplum 5.0.10), and not one more. */
const VM_CONTEXT_GLOBALS = [
  'console',
  'fetch',
  'require',
  'ContentType',
  'Hl7Message',
  'MedplumClient',
  'TextEncoder',
  'TextDecoder',
  'URL',
  'URLSearchParams',
];

/** Bundles the probe bot the way esbuild-script.mjs bundles a real one (CommonJS, VM-context footer). */
async function buildProbe(outfile: string, skipsVerification = false): Promise<void> {
  await build({
    entryPoints: [PROBE_SOURCE],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@medplum/core'],
    define: { PROBE_SKIPS_VERIFICATION: String(skipsVerification) },
    footer: { js: 'Object.assign(exports, module.exports);' },
    logLevel: 'error',
  });
}

/** A repository in a temp dir: a config naming the probe `stripe` (so the Stripe signer signs for it), samples. */
function writeProbeRepo(dir: string, bundle: string): { configPath: string; fixturesDir: string } {
  const configPath = join(dir, 'medplum.config.json');
  const bot = { name: 'stripe', source: PROBE_SOURCE, dist: bundle, secrets: ['STRIPE_WEBHOOK_SECRET'] };
  writeFileSync(configPath, JSON.stringify({ bots: [bot] }));
  const fixturesDir = join(dir, 'fixtures');
  mkdirSync(join(fixturesDir, 'stripe'), { recursive: true });
  writeFileSync(join(fixturesDir, 'stripe', 'customer.created.json'), JSON.stringify(customerEvent('evt_1', 1000)));
  writeFileSync(join(fixturesDir, 'stripe', 'customer.updated.json'), JSON.stringify(customerEvent('evt_2', 2000)));
  return { configPath, fixturesDir };
}

function customerEvent(id: string, created: number, customer = 'cus_probe_1'): object {
  const type = created === 1000 ? 'customer.created' : 'customer.updated';
  return { id, object: 'event', type, created, data: { object: { id: customer, object: 'customer', name: 'Ada' } } };
}

const stripe = findSigner('stripe') as Signer;

function signed(payload: object, options: { secret?: string; tampered?: boolean } = {}): Delivery {
  const secrets = { STRIPE_WEBHOOK_SECRET: options.secret ?? STRIPE_SECRET };
  return signSample({ signer: stripe, payload, secrets, tampered: options.tampered });
}

async function post(runner: Runner, delivery: Delivery, route: 'execute' | 'webhook' = 'execute'): Promise<PostResult> {
  const url = route === 'execute' ? runner.executeUrl('stripe') : runner.webhookUrl('stripe');
  return postDelivery({ url, delivery, credentials: runner.credentials });
}

async function raw(runner: Runner, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${runner.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function accounts(runner: Runner): Promise<Account[]> {
  return (await runner.medplum.searchResources('Account', { _count: '100' })) as unknown as Account[];
}

async function auditEvents(runner: Runner): Promise<AuditEvent[]> {
  return (await runner.medplum.searchResources('AuditEvent', { _count: '100' })) as unknown as AuditEvent[];
}

describe('local runner with a probe bot', () => {
  let dir: string;
  let runner: Runner;
  const requestLines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runner-probe-'));
    await buildProbe(join(dir, 'probe.js'));
    const { configPath } = writeProbeRepo(dir, 'probe.js');
    runner = await startRunner({
      port: 0,
      configPath,
      secrets: { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET },
      env: {},
      envFile: false,
      log: (line) => requestLines.push(line),
    });
  });

  afterAll(async () => {
    await runner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on loopback and runs a signed delivery through $execute, writing the resource', async () => {
    expect(runner.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const before = (await accounts(runner)).length;

    const result = await post(runner, signed(customerEvent('evt_10', 1000, 'cus_exec')));

    expect(result.status).toBe(200);
    const summary = JSON.parse(result.body);
    expect(summary).toMatchObject({ eventId: 'evt_10', outcome: 'written' });
    const stored = await accounts(runner);
    expect(stored).toHaveLength(before + 1);
    const account = stored.find((candidate) => candidate.identifier?.[0]?.value === 'cus_exec');
    expect(account).toMatchObject({ status: 'active', name: 'Ada' });
    expect(summary.resources).toEqual([{ reference: `Account/${account?.id}`, outcome: 'created' }]);
  });

  it('refuses a wrong Basic password with 401 and runs nothing', async () => {
    const executions = runner.executions.length;
    const wrong = { clientId: runner.credentials.clientId, clientSecret: 'wrong' };

    const result = await postDelivery({
      url: runner.executeUrl('stripe'),
      delivery: signed(customerEvent('evt_11', 1000, 'cus_401')),
      credentials: wrong,
    });
    const anonymous = await postDelivery({
      url: runner.executeUrl('stripe'),
      delivery: signed(customerEvent('evt_11', 1000, 'cus_401')),
    });

    expect(result.status).toBe(401);
    expect(anonymous.status).toBe(401);
    expect(runner.executions.length).toBe(executions);
    expect((await accounts(runner)).some((account) => account.identifier?.[0]?.value === 'cus_401')).toBe(false);
  });

  it('answers a bad signature with 400 and the error text, writes nothing and audits the failure', async () => {
    const before = (await accounts(runner)).length;

    const result = await post(runner, signed(customerEvent('evt_12', 1000, 'cus_bad'), { tampered: true }));

    expect(result.status).toBe(400);
    const outcome = JSON.parse(result.body) as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue?.[0]?.details?.text).toContain('Unhandled error: No signature matched');
    expect(await accounts(runner)).toHaveLength(before);
    const last = runner.executions.at(-1);
    expect(last).toMatchObject({ success: false, status: 400, writes: [] });
    const audit = await runner.medplum.readResource('AuditEvent', (last?.auditEvent as string).split('/')[1]);
    expect(audit).toMatchObject({ outcome: '4', type: { code: 'execute' } });
    expect(audit.source.observer).toMatchObject({ reference: 'Bot/stripe' });
    expect(audit.outcomeDesc).toContain('No signature matched');
  });

  it('writes one resource when the same delivery arrives twice', async () => {
    const payload = customerEvent('evt_13', 1000, 'cus_twice');

    const first = await post(runner, signed(payload));
    const second = await post(runner, signed(payload));

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(JSON.parse(second.body).outcome).toBe('unchanged');
    expect(runner.executions.at(-1)?.writes).toEqual([]);
    const matching = (await accounts(runner)).filter((account) => account.identifier?.[0]?.value === 'cus_twice');
    expect(matching).toHaveLength(1);
  });

  it('writes an AuditEvent per execution with the console output and outcome 0', async () => {
    const audits = (await auditEvents(runner)).length;

    await post(runner, signed(customerEvent('evt_14', 1000, 'cus_audit')));

    const all = await auditEvents(runner);
    expect(all).toHaveLength(audits + 1);
    const audit = all.find((candidate) => candidate.outcomeDesc?.includes('evt_14'));
    expect(audit).toMatchObject({ outcome: '0', entity: [{ what: { reference: 'Bot/stripe' } }] });
    expect(audit?.outcomeDesc).toMatch(/^\[probe\] evt_14 customer\.created: created Account\//);
  });

  it('passes the raw JSON text on /webhook, without Basic auth', async () => {
    const headers = { 'Content-Type': 'application/json', 'x-probe': 'event' };
    const delivery = { ...signed({ hello: 'world' }), headers };

    const result = await postDelivery({ url: runner.webhookUrl('stripe'), delivery });

    expect(result.status).toBe(200);
    const seen = JSON.parse(result.body);
    expect(seen).toMatchObject({ inputType: 'string', input: delivery.body });
    expect(seen).not.toHaveProperty('requester');
    // A signed sample verifies over the raw body too.
    const sample = await post(runner, signed(customerEvent('evt_15', 1000, 'cus_raw')), 'webhook');
    expect(sample.status).toBe(200);
  });

  it('parses bodies by content type as Medplum does before the bot runs', async () => {
    const probe = async (contentType: string, body: string): Promise<unknown> => {
      const headers = { 'Content-Type': contentType, 'x-probe': 'event' };
      const result = await post(runner, { method: 'POST', headers, body });
      expect(result.status).toBe(200);
      return JSON.parse(result.body).input;
    };

    expect(await probe('application/json; charset=utf-8', '{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(await probe('application/fhir+json', '{"resourceType":"Patient"}')).toEqual({ resourceType: 'Patient' });
    expect(await probe('text/plain', 'hello {"a":1}')).toBe('hello {"a":1}');
    expect(await probe('application/x-www-form-urlencoded', 'a=1&b=2&b=3')).toEqual({ a: '1', b: ['2', '3'] });
    expect(await probe('application/octet-stream', 'bytes')).toEqual({});
  });

  it('refuses unparseable JSON with 400 before any bot runs', async () => {
    const executions = runner.executions.length;

    const headers = { 'Content-Type': 'application/json' };

    const result = await post(runner, { method: 'POST', headers, body: '{"a":' });

    expect(result.status).toBe(400);
    expect(result.body).toContain('Content could not be parsed');
    expect(runner.executions.length).toBe(executions);
  });

  it('runs GET $execute with the query string as input', async () => {
    const result = await raw(runner, '/fhir/R4/Bot/stripe/$execute?challenge=abc&x=1&x=2', {
      headers: { authorization: basicAuthorization(runner.credentials), 'x-probe': 'event' },
    });

    expect(result.status).toBe(200);
    expect(result.body.input).toEqual({ challenge: 'abc', x: ['1', '2'] });
  });

  it("gives the bot exactly the VM context's globals, lower-case headers, secrets, bot and requester", async () => {
    const headers = { 'Content-Type': 'application/json', 'X-Probe': 'event', 'X-Custom-Header': 'Kept' };

    const result = await post(runner, { method: 'POST', headers, body: '{}' });

    const seen = JSON.parse(result.body);
    expect(seen.globals.sort()).toEqual(VM_CONTEXT_GLOBALS.sort());
    const sentHeaders = ['content-type', 'x-probe', 'x-custom-header', 'authorization'];
    expect(seen.headerNames).toEqual(expect.arrayContaining(sentHeaders));
    expect(seen.customHeader).toBe('Kept');
    expect(seen.secretNames).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(seen.contentType).toBe('application/json');
    expect(seen.bot).toEqual({ reference: 'Bot/stripe', display: 'stripe' });
    expect(seen.requester.reference).toBe(`ClientApplication/${runner.credentials.clientId}`);
    expect(seen.traceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a write a Medplum server would reject: 400, nothing stored', async () => {
    const before = (await accounts(runner)).length;
    const delivery = signed(customerEvent('evt_16', 1000, 'cus_invalid'));

    const result = await post(runner, { ...delivery, headers: { ...delivery.headers, 'x-probe': 'invalid-write' } });

    expect(result.status).toBe(400);
    expect(result.body).toContain('The Account write failed with status 400');
    expect(await accounts(runner)).toHaveLength(before);
    expect(runner.refusedWrites.at(-1)?.resourceType).toBe('Account');
    expect(runner.refusedWrites.at(-1)?.problems.join()).toMatch(/status/i);
  });

  it('serves reads of what was written, and 404 for unknown bots and routes', async () => {
    const list = await raw(runner, '/fhir/R4/Account');
    const id = (list.body as Bundle<Account>).entry?.[0]?.resource?.id;
    const one = await raw(runner, `/fhir/R4/Account/${id}`);
    const history = await raw(runner, `/fhir/R4/Account/${id}/_history`);
    const unknownBot = await post(runner, signed(customerEvent('evt_17', 1000)), 'execute').then(() =>
      postDelivery({ url: runner.executeUrl('nope'), delivery: signed({}), credentials: runner.credentials })
    );

    expect(list.status).toBe(200);
    expect(list.body.entry.length).toBeGreaterThan(0);
    expect(one.body).toMatchObject({ resourceType: 'Account', id });
    expect(history.body).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    expect(unknownBot.status).toBe(404);
    expect(unknownBot.body).toContain('No bot named nope');
    expect((await raw(runner, '/fhir/R4/NotAType')).status).toBe(404);
    expect((await raw(runner, '/elsewhere')).status).toBe(404);
  });

  it('files each write under the execution that made it when deliveries overlap', async () => {
    const customers = ['cus_race_1', 'cus_race_2', 'cus_race_3'];

    const deliveries = customers.map((id, i) => signed(customerEvent(`evt_r${i}`, 1000, id)));

    const results = await Promise.all(deliveries.map((delivery) => post(runner, delivery)));

    expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
    for (const result of results) {
      const { eventId, resources } = JSON.parse(result.body);
      const execution = runner.executions.find((candidate) => (candidate.returnValue as any)?.eventId === eventId);
      expect(execution?.writes.map((write) => `${write.resourceType}/${write.id}`)).toEqual([resources[0].reference]);
    }
  });

  it('logs one line per request: method, route, bot, status, duration', async () => {
    requestLines.length = 0;

    await post(runner, signed(customerEvent('evt_18', 1000, 'cus_log')));
    await raw(runner, '/fhir/R4/Account');

    expect(requestLines).toHaveLength(2);
    expect(requestLines[0]).toMatch(/^POST \/fhir\/R4\/Bot\/stripe\/\$execute stripe 200 \d+ms 1 written$/);
    expect(requestLines[1]).toMatch(/^GET \/fhir\/R4\/Account - 200 \d+ms$/);
  });

  it('answers 400 with a build hint when the bundle is missing', async () => {
    const missing = await startRunner({
      port: 0,
      configPath: writeProbeRepo(mkdtempSync(join(dir, 'missing-')), 'not-built.js').configPath,
      env: {},
      envFile: false,
      log: () => undefined,
    });
    try {
      const result = await post(missing, signed(customerEvent('evt_19', 1000)));
      expect(result.status).toBe(400);
      expect(result.body).toContain('does not exist; run `npm run build`');
    } finally {
      await missing.close();
    }
  });
});

describe('secrets the runner hands to bots', () => {
  it('takes declared secrets, their _PREVIOUS twins and settings named after the bot, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-secrets-'));
    await buildProbe(join(dir, 'probe.js'));
    const { configPath } = writeProbeRepo(dir, 'probe.js');
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'STRIPE_WEBHOOK_SECRET=from-dotenv\nSTRIPE_WEBHOOK_SECRET_PREVIOUS=old\nUNRELATED=x\n');
    const env = { STRIPE_WEBHOOK_SECRET: 'from-env', STRIPE_ACCOUNT_HINT: 'acct', HOME: '/home/someone' };
    const runner = await startRunner({ port: 0, configPath, env, envFile, log: () => undefined });
    try {
      const result = await post(runner, { method: 'POST', headers: { 'x-probe': 'event' }, body: '' });

      expect(JSON.parse(result.body).secretNames.sort()).toEqual(
        ['STRIPE_ACCOUNT_HINT', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_WEBHOOK_SECRET_PREVIOUS'].sort()
      );
      expect(runner.secrets.get('STRIPE_WEBHOOK_SECRET')).toEqual({ value: 'from-env', origin: 'environment' });
      expect(runner.secrets.get('STRIPE_WEBHOOK_SECRET_PREVIOUS')).toEqual({ value: 'old', origin: '.env' });
    } finally {
      await runner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the public demo value only for a secret nobody set', () => {
    const names = { names: ['STRIPE_WEBHOOK_SECRET', 'OKTA_WEBHOOK_SECRET'] };
    const sources = { env: { OKTA_WEBHOOK_SECRET: 'real' }, envFile: false as const, demoValues: demoSecrets() };

    const resolved = resolveSecrets(names, sources);

    expect(resolved.get('OKTA_WEBHOOK_SECRET')).toEqual({ value: 'real', origin: 'environment' });
    expect(resolved.get('STRIPE_WEBHOOK_SECRET')?.origin).toBe('demo value');
    expect(
      resolveSecrets(names, { ...sources, explicit: { OKTA_WEBHOOK_SECRET: 'x' } }).get('OKTA_WEBHOOK_SECRET')
    ).toEqual({ value: 'x', origin: 'option' });
  });
});

describe('send', () => {
  let dir: string;
  let runner: Runner;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runner-send-'));
    await buildProbe(join(dir, 'probe.js'));
    const { configPath } = writeProbeRepo(dir, 'probe.js');
    runner = await startRunner({ port: 0, configPath, env: {}, envFile: false, log: () => undefined });
  });

  afterAll(async () => {
    await runner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a sample with the demo secret by default and posts it with Basic auth taken from the URL', async () => {
    const { clientId, clientSecret } = runner.credentials;
    const url = runner.executeUrl('stripe').replace('://', `://${clientId}:${clientSecret}@`);

    const fixturesDir = join(dir, 'fixtures');

    const prepared = prepareSend({ source: 'stripe', sample: 'customer.created', url, env: {}, fixturesDir });
    const result = await postDelivery(prepared);

    expect(result.status).toBe(200);
    expect(answerIsExpected(prepared, result, false)).toBeUndefined();
    expect(prepared.delivery.headers['Stripe-Signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('sends a tampered sample that the bot refuses, which is the expected answer for --tamper', async () => {
    const prepared = prepareSend({
      source: 'stripe',
      sample: 'customer.created',
      url: runner.webhookUrl('stripe'),
      tamper: true,
      env: {},
      fixturesDir: join(dir, 'fixtures'),
    });

    const result = await postDelivery(prepared);

    expect(result.status).toBe(400);
    expect(answerIsExpected(prepared, result, true)).toBeUndefined();
    expect(answerIsExpected(prepared, result, false)).toBe('HTTP 400');
  });

  it('says clearly when a source has no signer or a sample does not exist', () => {
    expect(() => prepareSend({ source: 'acme', sample: 'x' })).toThrow(
      /No signer for "acme" \(signers exist for: .*stripe.*\); add scripts\/lib\/signers\/acme\.ts/
    );
    expect(() => prepareSend({ source: 'stripe', sample: 'nope', fixturesDir: join(dir, 'fixtures') })).toThrow(
      'No sample "nope" for stripe (samples: customer.created, customer.updated)'
    );
  });
});

describe('demo with the probe bot', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runner-demo-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes when every sample is accepted, the bad signature refused and redeliveries change nothing', async () => {
    await buildProbe(join(dir, 'probe.js'));
    const { configPath, fixturesDir } = writeProbeRepo(dir, 'probe.js');

    const report = await runDemo({ configPath, distDir: dir, fixturesDir });

    expect(report.rows.map((row) => [row.sample, row.status, row.written, row.problem])).toEqual([
      ['all 2, wrong secret', 400, '0', undefined],
      ['customer.created', 200, '1 (Account)', undefined],
      ['customer.updated', 200, '0', undefined],
      ['all 2 again via /webhook', 200, '0', undefined],
    ]);
    expect(report.ok).toBe(true);
  });

  it('fails when a bot accepts a delivery with a bad signature', async () => {
    const lax = join(dir, 'lax');
    mkdirSync(lax);
    await buildProbe(join(lax, 'probe.js'), true);
    const { configPath, fixturesDir } = writeProbeRepo(lax, 'probe.js');

    const report = await runDemo({ configPath, distDir: lax, fixturesDir });

    expect(report.ok).toBe(false);
    const tampered = report.rows.find((row) => row.sample.endsWith('wrong secret'));
    expect(tampered).toMatchObject({ status: 200, written: '1 (Account)' });
    expect(tampered?.problem).toBe('expected HTTP 400 for each, got 200, 200');
  });
});

// ---------------------------------------------------------------------------------------------------------
// The real bots

const realBots = loadBots().filter((bot) => existsSync(bot.source));

interface ReportedResource {
  readonly reference: string;
  readonly outcome: string;
}

/** The resources a bot's summary lists: `resources`, or per event for bots that take batches (Okta). */
function reportedResources(summary: { resources?: ReportedResource[]; events?: { resources?: ReportedResource[] }[] }) {
  return summary.resources ?? summary.events?.flatMap((event) => event.resources ?? []) ?? [];
}

/** Resource types each bot's samples must write between them (the README's table). */
const EXPECTED_TYPES: Record<string, string[]> = {
  stripe: ['Account', 'Invoice', 'PaymentReconciliation'],
  okta: ['Practitioner', 'AuditEvent'],
};

describe.runIf(realBots.length > 0)('real bots over HTTP', () => {
  beforeAll(() => {
    const built = spawnSync(process.execPath, ['esbuild-script.mjs', ...realBots.map((bot) => bot.name)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(built.status, `npm run build failed:\n${built.stdout}${built.stderr}`).toBe(0);
  }, 60_000);

  describe.each(realBots.map((bot) => bot.name))('%s', (name) => {
    const signer = findSigner(name);
    let runner: Runner;

    beforeAll(async () => {
      runner = await startRunner({ port: 0, secrets: demoSecrets(), env: {}, envFile: false, log: () => undefined });
    });

    afterAll(async () => {
      await runner?.close();
    });

    it('has a signer and samples', () => {
      expect(signer, `no signer for ${name}: add scripts/lib/signers/${name}.ts`).toBeDefined();
      expect(readSamples(signer as Signer).length, `no samples in test/fixtures/${name}/`).toBeGreaterThan(0);
    });

    it.runIf(signer)('answers a bad signature with 400 and writes nothing, before any real delivery', async () => {
      for (const sample of readSamples(signer as Signer)) {
        const payload = sample.payload;
        const delivery = signSample({ signer: signer as Signer, payload, secrets: demoSecrets(), tampered: true });
        const result = await postDelivery({ url: runner.executeUrl(name), delivery, credentials: runner.credentials });

        expect(result.status, sample.name).toBe(400);
        expect(runner.executions.at(-1)?.writes, sample.name).toEqual([]);
      }
    });

    it.runIf(signer)('writes the resources each signed sample reports, through $execute', async () => {
      const types = new Set<string>();
      for (const sample of readSamples(signer as Signer)) {
        const delivery = signSample({ signer: signer as Signer, payload: sample.payload, secrets: demoSecrets() });
        const result = await postDelivery({ url: runner.executeUrl(name), delivery, credentials: runner.credentials });

        expect(result.status, `${sample.name}: ${result.body}`).toBe(200);
        const execution = runner.executions.at(-1);
        const reported = reportedResources(JSON.parse(result.body));
        const changed = reported.filter((resource) => ['created', 'updated'].includes(resource.outcome));
        const stored = new Set(execution?.writes.map((write) => `${write.resourceType}/${write.id}`));
        expect([...stored].sort(), `${sample.name}: the writes the bot reports`).toEqual(
          changed.map((resource) => resource.reference).sort()
        );
        for (const resource of reported.filter((candidate) => candidate.reference.includes('/'))) {
          const [type, id] = resource.reference.split('/');
          await expect(runner.medplum.readResource(type as 'Account', id)).resolves.toMatchObject({ id });
        }
        execution?.writes.forEach((write) => types.add(write.resourceType));
      }
      expect(types.size, 'the samples wrote no resources at all').toBeGreaterThan(0);
      expect([...types]).toEqual(expect.arrayContaining(EXPECTED_TYPES[name] ?? []));
      expect(runner.refusedWrites).toEqual([]);
    });

    it.runIf(signer)('refuses a wrong Basic password with 401', async () => {
      const [sample] = readSamples(signer as Signer);
      const delivery = signSample({ signer: signer as Signer, payload: sample.payload, secrets: demoSecrets() });
      const credentials = { clientId: runner.credentials.clientId, clientSecret: 'not-the-secret' };

      const result = await postDelivery({ url: runner.executeUrl(name), delivery, credentials });

      expect(result.status).toBe(401);
    });

    it.runIf(signer)('writes nothing when the same deliveries arrive again, on either route', async () => {
      for (const route of ['execute', 'webhook'] as const) {
        for (const sample of readSamples(signer as Signer)) {
          const delivery = signSample({ signer: signer as Signer, payload: sample.payload, secrets: demoSecrets() });
          const url = route === 'execute' ? runner.executeUrl(name) : runner.webhookUrl(name);
          const result = await postDelivery({ url, delivery, credentials: runner.credentials });

          expect(result.status, `${route} ${sample.name}: ${result.body}`).toBe(200);
          expect(runner.executions.at(-1)?.writes, `${route} ${sample.name}`).toEqual([]);
        }
      }
    });
  });
});

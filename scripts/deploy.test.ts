// `npm run deploy` against an in-process Medplum on 127.0.0.1: real HTTP, MedplumClient and all.
// Each test gets a fresh server and a fresh repository in a temporary directory with two tiny bots.
import type { AccessPolicy, Bot, ClientApplication, ProjectMembership } from '@medplum/fhirtypes';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { attachmentHash } from './deploy/steps/code.ts';
import { runDeploy } from './deploy/run.ts';
import type { FakeMedplum, FakeMedplumOptions } from './deploy/testing/fake-medplum.ts';
import { startFakeMedplum } from './deploy/testing/fake-medplum.ts';

const CONFIG = {
  bots: [
    {
      name: 'alpha',
      source: 'src/alpha.ts',
      dist: 'dist/alpha.js',
      accessPolicy: 'access-policies/alpha-bot.json',
      secrets: ['ALPHA_SECRET'],
      vendor: 'Stripe',
    },
    {
      name: 'beta',
      source: 'src/beta.ts',
      dist: 'dist/beta.js',
      accessPolicy: 'access-policies/beta-bot.json',
      vendor: 'Okta',
    },
  ],
};

const BOT_POLICY = (name: string): AccessPolicy => ({
  resourceType: 'AccessPolicy',
  name: `${name} bot`,
  resource: [{ resourceType: 'Invoice' }],
});

const WEBHOOK_CLIENT_POLICY: AccessPolicy = {
  resourceType: 'AccessPolicy',
  name: 'Webhook client (read-only Bot)',
  resource: [{ resourceType: 'Bot', readonly: true }],
};

/** Stands in for the repository's esbuild script: "bundles" src/<bot>.ts into its dist file. */
const BUILD_SCRIPT = `
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
const config = JSON.parse(readFileSync('medplum.config.json', 'utf8'));
const only = process.argv.slice(2);
mkdirSync('dist', { recursive: true });
for (const bot of config.bots.filter((b) => only.length === 0 || only.includes(b.name))) {
  writeFileSync(bot.dist, bundleOf(readFileSync(bot.source, 'utf8')));
  console.log('built ' + bot.dist);
}
function bundleOf(source) { return '// bundled\\n' + source; }
`;

/** The ids the fake server gives (bot-3, accesspolicy-1, ...), replaced by :id in recorded paths. */
const FAKE_IDS = /\b(bot|binary|accesspolicy|clientapplication|projectmembership)-\d+/g;

const PAST = new Date('2024-01-01T00:00:00Z');
const LATER = new Date('2024-01-02T00:00:00Z');

let fake: FakeMedplum;
let repo: string;

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  writeRepo(repo);
});

afterEach(async () => {
  await fake?.close();
  rmSync(repo, { recursive: true, force: true });
});

function writeRepo(dir: string): void {
  write(dir, 'medplum.config.json', JSON.stringify(CONFIG));
  write(dir, 'access-policies/alpha-bot.json', JSON.stringify(BOT_POLICY('alpha')));
  write(dir, 'access-policies/beta-bot.json', JSON.stringify(BOT_POLICY('beta')));
  write(dir, 'access-policies/webhook-client.json', JSON.stringify(WEBHOOK_CLIENT_POLICY));
  write(dir, 'esbuild-script.mjs', BUILD_SCRIPT);
  for (const name of ['alpha', 'beta']) {
    const source = `export async function handler() { return '${name}'; }\n`;
    writeSource(dir, name, source, PAST);
    write(dir, `dist/${name}.js`, `// bundled\n${source}`, LATER);
  }
}

function write(dir: string, path: string, text: string, mtime?: Date): void {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (mtime) {
    utimesSync(file, mtime, mtime);
  }
}

function writeSource(dir: string, name: string, text: string, mtime: Date): void {
  write(dir, `src/${name}.ts`, text, mtime);
}

async function start(options: FakeMedplumOptions = {}): Promise<FakeMedplum> {
  fake = await startFakeMedplum(options);
  return fake;
}

interface Run {
  readonly code: number;
  readonly output: string;
  /** Requests this run made that could change something. */
  readonly writes: string[];
}

async function deploy(argv: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const lines: string[] = [];
  const before = fake.requests.length;
  const code = await runDeploy({
    argv: ['--config', join(repo, 'medplum.config.json'), ...argv],
    cwd: repo,
    env: {
      MEDPLUM_BASE_URL: fake.baseUrl,
      MEDPLUM_CLIENT_ID: fake.clientId,
      MEDPLUM_CLIENT_SECRET: fake.clientSecret,
      ...env,
    },
    log: (line) => lines.push(line),
  });
  const writes = fake.requests
    .slice(before)
    .filter((r) => r.method !== 'GET' && r.path !== '/oauth2/token')
    .map((r) => `${r.method} ${r.path.replace(FAKE_IDS, ':id')}`);
  return { code, output: lines.join('\n'), writes };
}

function botNamed(name: string): Bot {
  const bot = fake.all<Bot>('Bot').find((candidate) => candidate.name === name);
  expect(bot, `Bot ${name}`).toBeDefined();
  return bot as Bot;
}

function clientNamed(name: string): ClientApplication {
  const client = fake.all<ClientApplication>('ClientApplication').find((c) => c.name === name);
  expect(client, `ClientApplication ${name}`).toBeDefined();
  return client as ClientApplication;
}

function membershipOf(reference: string): ProjectMembership {
  const memberships = fake.all<ProjectMembership>('ProjectMembership');
  const membership = memberships.find((m) => m.profile.reference === reference);
  expect(membership, `membership of ${reference}`).toBeDefined();
  return membership as ProjectMembership;
}

function policyTagged(code: string): AccessPolicy {
  const policies = fake
    .all<AccessPolicy>('AccessPolicy')
    .filter((policy) => policy.meta?.tag?.some((tag) => tag.code === code));
  expect(policies).toHaveLength(1);
  return policies[0];
}

function bodyOf(method: string, pathStart: string, index = 0): any {
  const matches = fake.requests.filter((r) => r.method === method && r.path.startsWith(pathStart));
  return matches[index]?.body;
}

const FIRST_RUN_WRITES_PER_BOT = [
  'POST /fhir/R4/AccessPolicy',
  'POST /admin/projects/project-1/bot',
  'PUT /fhir/R4/Bot/:id',
  'POST /fhir/R4/Binary?_filename=NAME.ts',
  'POST /fhir/R4/Bot/:id/$deploy',
  'PUT /fhir/R4/Bot/:id',
  'POST /fhir/R4/AccessPolicy',
  'POST /admin/projects/project-1/client',
  'PUT /fhir/R4/Bot/:id',
];

describe('a first deploy', () => {
  test('creates each bot with its policy, code and webhook client, in this order', async () => {
    await start();
    const run = await deploy();

    expect(run.code, run.output).toBe(0);
    const perBot = (name: string): string[] => FIRST_RUN_WRITES_PER_BOT.map((w) => w.replace('NAME', name));
    expect(run.writes).toEqual([...perBot('alpha'), ...perBot('beta')]);
  });

  test('creates the Bot through the admin API with a membership that carries its AccessPolicy', async () => {
    await start();
    await deploy();

    const policy = policyTagged('bot-policy:alpha');
    expect(policy).toMatchObject({ name: 'alpha bot', resource: [{ resourceType: 'Invoice' }] });
    expect(bodyOf('POST', '/admin/projects/project-1/bot')).toEqual({
      name: 'alpha',
      description: 'Receives Stripe webhooks. Managed by npm run deploy.',
      runtimeVersion: 'vmcontext',
      accessPolicy: { reference: `AccessPolicy/${policy.id}`, display: 'alpha bot' },
    });
    const bot = botNamed('alpha');
    const system = 'https://github.com/medplum-webhook-bots/deploy/bot';
    expect(bot.identifier).toEqual([{ system, value: 'alpha' }]);
    expect(membershipOf(`Bot/${bot.id}`).accessPolicy?.reference).toBe(`AccessPolicy/${policy.id}`);
  });

  test('uploads the source as the sourceCode and deploys the bundle', async () => {
    await start();
    await deploy();

    const source = readFileSync(join(repo, 'src/alpha.ts'));
    const bundle = readFileSync(join(repo, 'dist/alpha.js'));
    expect(bodyOf('POST', '/fhir/R4/Binary?_filename=alpha.ts')).toBe(source.toString());
    const bot = botNamed('alpha');
    const deployed = bodyOf('POST', `/fhir/R4/Bot/${bot.id}/$deploy`);
    expect(deployed).toEqual({ code: bundle.toString(), filename: 'alpha.js' });
    expect(bot.sourceCode).toMatchObject({
      contentType: 'text/typescript',
      title: 'alpha.ts',
      hash: attachmentHash(source),
    });
    expect(fake.binaryText((bot.sourceCode?.url as string).replace('Binary/', ''))).toBe(source.toString());
    expect(bot.executableCode).toMatchObject({ title: 'alpha.js', hash: attachmentHash(bundle) });
  });

  test('gives each webhook source its own client, limited to reading its own Bot', async () => {
    await start();
    await deploy();

    for (const name of ['alpha', 'beta']) {
      const bot = botNamed(name);
      const policy = policyTagged(`webhook-client-policy:${name}`);
      expect(policy.name).toBe(`Webhook client (read-only Bot): ${name}`);
      const criteria = `Bot?_id=${bot.id}`;
      expect(policy.resource).toEqual([{ resourceType: 'Bot', readonly: true, criteria }]);
      const client = clientNamed(`${name} webhook client`);
      const membership = membershipOf(`ClientApplication/${client.id}`);
      expect(membership.accessPolicy?.reference).toBe(`AccessPolicy/${policy.id}`);
    }
  });

  test('prints the $execute URL with a masked secret, and the dashboard fields', async () => {
    await start();
    const run = await deploy();

    const bot = botNamed('alpha');
    const client = clientNamed('alpha webhook client');
    const host = new URL(fake.baseUrl).host;
    expect(run.output).toContain(`http://${client.id}:****@${host}/fhir/R4/Bot/${bot.id}/$execute`);
    expect(run.output).toContain(`public route:  ${fake.baseUrl}webhook/${membershipOf(`Bot/${bot.id}`).id}`);
    expect(run.output).toContain('Stripe Dashboard > Developers > Webhooks > Add endpoint');
    expect(run.output).toContain('Okta Admin Console > Workflow > Event Hooks');
    expect(run.output).not.toContain(client.secret);
  });

  test('prints the secret only with --show-secrets', async () => {
    await start();
    const run = await deploy(['--show-secrets']);

    const client = clientNamed('beta webhook client');
    expect(run.output).toContain(`:${client.secret}@`);
    expect(run.output).toContain(`Authorization: Basic ${btoa(`${client.id}:${client.secret}`)}`);
  });

  test('deploys only the bots named on the command line', async () => {
    await start();
    const run = await deploy(['beta']);

    expect(run.code, run.output).toBe(0);
    expect(fake.all<Bot>('Bot').map((bot) => bot.name)).toEqual(['beta']);
  });
});

describe('a second deploy', () => {
  test('writes nothing when nothing changed', async () => {
    await start();
    await deploy();
    const second = await deploy();

    expect(second.code, second.output).toBe(0);
    expect(second.writes).toEqual([]);
    expect(second.output).toMatch(/Summary\n[\s\S]*16 unchanged, 1 warning$/);
  });

  test('updates a changed AccessPolicy in place', async () => {
    await start();
    await deploy();
    const before = policyTagged('bot-policy:alpha');
    const edited = { ...BOT_POLICY('alpha'), name: 'alpha, renamed', resource: [{ resourceType: 'Account' }] };
    write(repo, 'access-policies/alpha-bot.json', JSON.stringify(edited));
    const run = await deploy();

    expect(run.writes).toEqual(['PUT /fhir/R4/AccessPolicy/:id']);
    expect(policyTagged('bot-policy:alpha')).toMatchObject({ id: before.id, ...edited });
  });

  test('redeploys only the bot whose bundle changed', async () => {
    await start();
    await deploy();
    write(repo, 'dist/beta.js', '// bundled\nexport async function handler() { return "beta 2"; }\n', LATER);
    const run = await deploy();

    const beta = botNamed('beta');
    expect(run.writes).toEqual([
      'POST /fhir/R4/Binary?_filename=beta.ts',
      'POST /fhir/R4/Bot/:id/$deploy',
      'PUT /fhir/R4/Bot/:id',
    ]);
    expect(bodyOf('POST', `/fhir/R4/Bot/${beta.id}/$deploy`, 1).code).toContain('beta 2');
  });

  test('rebuilds the bundles that are older than src/, then deploys those that changed', async () => {
    await start();
    await deploy();
    writeSource(repo, 'alpha', "export async function handler() { return 'alpha 2'; }\n", new Date());
    const run = await deploy();

    expect(run.output).toContain('Building alpha, beta: the bundle is missing or older than src/');
    expect(run.writes.filter((write) => write.endsWith('$deploy'))).toHaveLength(1);
    const alpha = botNamed('alpha');
    expect(bodyOf('POST', `/fhir/R4/Bot/${alpha.id}/$deploy`, 1).code).toBe(
      "// bundled\nexport async function handler() { return 'alpha 2'; }\n"
    );
  });

  test('puts the bot AccessPolicy back on a membership someone changed', async () => {
    await start();
    await deploy();
    const bot = botNamed('alpha');
    const membership = membershipOf(`Bot/${bot.id}`);
    fake.put({ ...membership, accessPolicy: { reference: 'AccessPolicy/too-broad' } });
    const run = await deploy();

    expect(run.writes).toEqual(['POST /admin/projects/project-1/members/:id']);
    expect(bodyOf('POST', `/admin/projects/project-1/members/${membership.id}`).accessPolicy.reference).toBe(
      `AccessPolicy/${policyTagged('bot-policy:alpha').id}`
    );
    expect(membershipOf(`Bot/${bot.id}`).accessPolicy?.reference).toBe(
      `AccessPolicy/${policyTagged('bot-policy:alpha').id}`
    );
  });

  test('moves a bot to another runtime and deploys its code there', async () => {
    await start();
    await deploy();
    const run = await deploy(['--runtime=awslambda', 'alpha']);

    expect(run.writes).toEqual([
      'PUT /fhir/R4/Bot/:id',
      'POST /fhir/R4/Binary?_filename=alpha.ts',
      'POST /fhir/R4/Bot/:id/$deploy',
      'PUT /fhir/R4/Bot/:id',
    ]);
    expect(botNamed('alpha').runtimeVersion).toBe('awslambda');
  });

  test('adopts a Bot of the same name made by hand instead of making a second', async () => {
    await start();
    const handmade = fake.put<Bot>({ resourceType: 'Bot', name: 'alpha', runtimeVersion: 'vmcontext' });
    fake.put<ProjectMembership>({
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${fake.projectId}` },
      user: { reference: `Bot/${handmade.id}` },
      profile: { reference: `Bot/${handmade.id}` },
    });
    const run = await deploy(['alpha']);

    expect(run.code, run.output).toBe(0);
    expect(fake.all<Bot>('Bot')).toHaveLength(1);
    expect(botNamed('alpha').identifier?.[0]?.value).toBe('alpha');
    expect(run.writes).not.toContain('POST /admin/projects/project-1/bot');
  });
});

describe('--dry-run', () => {
  test('plans every object on an empty project and writes nothing', async () => {
    await start();
    const run = await deploy(['--dry-run']);

    expect(run.code, run.output).toBe(0);
    expect(run.writes).toEqual([]);
    expect(fake.all('Bot')).toEqual([]);
    expect(run.output).toMatch(/2\/8 Bot\s+would create\s+Bot "alpha" \(vmcontext\)/);
    expect(run.output).toContain('Summary (dry run: nothing was written)');
    expect(run.output).toMatch(/14 would create, 2 unchanged, 1 warning$/);
  });

  test('plans only what changed after a first deploy', async () => {
    await start();
    await deploy();
    write(repo, 'access-policies/beta-bot.json', JSON.stringify({ ...BOT_POLICY('beta'), resource: [] }));
    const run = await deploy(['--dry-run']);

    expect(run.writes).toEqual([]);
    expect(run.output).toMatch(/beta\s+AccessPolicy\s+would update/);
    expect(run.output).toMatch(/1 would update, 15 unchanged, 1 warning$/);
  });

  test('does not build a stale bundle', async () => {
    await start();
    rmSync(join(repo, 'dist/alpha.js'));
    const run = await deploy(['--dry-run', 'alpha']);

    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Would build alpha');
    expect(existsSync(join(repo, 'dist/alpha.js'))).toBe(false);
  });
});

describe('failures', () => {
  test('wrong credentials stop deploy at log-in, with the cause and the fix', async () => {
    await start();
    const run = await deploy([], { MEDPLUM_CLIENT_SECRET: 'wrong' });

    expect(run.code).toBe(1);
    expect(run.output).toContain('Invalid secret');
    expect(run.output).toContain('fix: check MEDPLUM_BASE_URL, MEDPLUM_CLIENT_ID and MEDPLUM_CLIENT_SECRET');
    expect(fake.requests.map((r) => r.path)).toEqual(['/oauth2/token']);
  });

  test('missing credentials stop deploy before any request', async () => {
    await start();
    const run = await deploy([], { MEDPLUM_CLIENT_ID: '' });

    expect(run.code).toBe(1);
    expect(run.output).toContain('MEDPLUM_CLIENT_ID is not set');
    expect(run.output).toContain('copy .env.example to .env');
    expect(fake.requests).toEqual([]);
  });

  test('reads the credentials from .env when the environment has none', async () => {
    await start();
    write(repo, '.env', `MEDPLUM_CLIENT_ID=${fake.clientId}\nMEDPLUM_CLIENT_SECRET=${fake.clientSecret}\n`);
    const run = await deploy(['--dry-run'], { MEDPLUM_CLIENT_ID: '', MEDPLUM_CLIENT_SECRET: '' });

    expect(run.code, run.output).toBe(0);
  });

  test('a client that is not a project admin is refused before anything is written', async () => {
    await start({ admin: false });
    const run = await deploy();

    expect(run.code).toBe(1);
    expect(run.output).toContain('is not an admin of project');
    expect(run.writes).toEqual([]);
  });

  test.each([
    ['an HTTP error', 400],
    ['an error outcome with HTTP 200', 200],
  ])('a failed $deploy (%s) fails the run and is retried next time', async (_kind, status) => {
    await start();
    const issue = { severity: 'error', code: 'invalid', details: { text: 'Lambda quota' } } as const;
    fake.deployAnswer = { status, outcome: { resourceType: 'OperationOutcome', issue: [issue] } };
    const failed = await deploy(['alpha']);

    expect(failed.code).toBe(1);
    expect(failed.output).toMatch(/\$deploy of Bot\/bot-\d+ failed: Lambda quota/);
    expect(failed.output).toMatch(/webhook client\s+skipped/);
    expect(botNamed('alpha').sourceCode?.hash).toBeUndefined();

    fake.deployAnswer = undefined;
    const retried = await deploy(['alpha']);
    expect(retried.code, retried.output).toBe(0);
    expect(retried.writes).toContain('POST /fhir/R4/Bot/:id/$deploy');
  });

  test('a bundle the build does not write fails before anything is written', async () => {
    await start();
    rmSync(join(repo, 'dist/alpha.js'));
    write(repo, 'esbuild-script.mjs', "console.log('built nothing');\n");
    const run = await deploy();

    expect(run.code).toBe(1);
    expect(run.output).toContain('the build did not write dist/alpha.js for the bot "alpha"');
    expect(run.writes).toEqual([]);
  });

  test('a missing AccessPolicy file fails before any request', async () => {
    await start();
    rmSync(join(repo, 'access-policies/beta-bot.json'));
    const run = await deploy();

    expect(run.code).toBe(1);
    expect(run.output).toMatch(/access-policies\/beta-bot\.json does not exist \(expected an AccessPolicy\)/);
    expect(fake.requests).toEqual([]);
  });

  test('an AccessPolicy file that Medplum would refuse fails before any request', async () => {
    await start();
    const withDescription = { ...WEBHOOK_CLIENT_POLICY, description: 'x' };
    write(repo, 'access-policies/webhook-client.json', JSON.stringify(withDescription));
    const run = await deploy();

    expect(run.code).toBe(1);
    expect(run.output).toContain('access-policies/webhook-client.json is not an AccessPolicy Medplum accepts');
    expect(run.output).toContain('Invalid additional property "description"');
    expect(fake.requests).toEqual([]);
  });

  test('an unknown bot name fails before any request', async () => {
    await start();
    const run = await deploy(['gamma']);

    expect(run.code).toBe(1);
    expect(run.output).toContain('no bot named gamma');
    expect(fake.requests).toEqual([]);
  });
});

describe('secrets', () => {
  test('lists a missing secret with how to set it, as a warning', async () => {
    await start();
    const run = await deploy(['alpha']);

    expect(run.code).toBe(0);
    expect(run.output).toMatch(/secrets\s+warning\s+missing: ALPHA_SECRET/);
    expect(run.output).toContain('Admin > Project > Secrets');
    expect(run.output).toContain('put ALPHA_SECRET=... in .env and run: npm run deploy -- --set-secrets');
  });

  test('--set-secrets sets them from the environment and keeps every other secret', async () => {
    await start({ secrets: [{ name: 'SOMEONE_ELSES', valueString: 'keep me' }] });
    const run = await deploy(['--set-secrets', 'alpha'], { ALPHA_SECRET: 'whsec_1' });

    expect(run.code, run.output).toBe(0);
    expect(bodyOf('POST', '/admin/projects/project-1/secrets')).toEqual([
      { name: 'SOMEONE_ELSES', valueString: 'keep me' },
      { name: 'ALPHA_SECRET', valueString: 'whsec_1' },
    ]);
    expect(run.output).not.toContain('whsec_1');

    const again = await deploy(['--set-secrets', 'alpha'], { ALPHA_SECRET: 'whsec_1' });
    expect(again.writes).toEqual([]);
  });

  test('without --set-secrets an environment value is not written', async () => {
    await start();
    const run = await deploy(['alpha'], { ALPHA_SECRET: 'whsec_1' });

    expect(run.writes).not.toContain('POST /admin/projects/project-1/secrets');
  });
});

describe('routes and features', () => {
  test('--route=webhook opens the public route with the raw body; a default run closes it', async () => {
    await start();
    await deploy(['beta']);
    const opened = await deploy(['--route=webhook', 'beta']);

    expect(opened.writes).toEqual(['PUT /fhir/R4/Bot/:id']);
    expect(botNamed('beta')).toMatchObject({ publicWebhook: true, rawBody: true });
    expect(opened.output).toMatch(/public route: {2}\S+\/webhook\/projectmembership-\d+ {2}\(in use\)/);

    const closed = await deploy(['beta']);
    expect(closed.writes).toEqual(['PUT /fhir/R4/Bot/:id']);
    expect(botNamed('beta')).toMatchObject({ publicWebhook: false, rawBody: true });
  });

  test('keeps the raw body on $execute too, where the server supports it (Medplum 5.2)', async () => {
    await start();
    await deploy(['beta']);

    expect(botNamed('beta')).toMatchObject({ publicWebhook: false, rawBody: true });
    expect((await deploy(['beta'])).writes).toEqual([]);
  });

  test('on a server without rawBody, $execute stays parsed and a second run writes nothing', async () => {
    await start({ legacyRawBody: true });
    const first = await deploy(['beta']);

    expect(first.code, first.output).toBe(0);
    expect(botNamed('beta')).toMatchObject({ publicWebhook: false, webhookRawBodyEnabled: false });
    expect(botNamed('beta')).not.toHaveProperty('rawBody');
    expect((await deploy(['beta'])).writes).toEqual([]);
  });

  test('uses webhookRawBodyEnabled on a server that refuses rawBody (Medplum 5.0)', async () => {
    await start({ legacyRawBody: true });
    await deploy(['beta']);
    const run = await deploy(['--route=webhook', 'beta']);

    expect(run.code, run.output).toBe(0);
    expect(botNamed('beta')).toMatchObject({ publicWebhook: true, webhookRawBodyEnabled: true });
    expect(botNamed('beta')).not.toHaveProperty('rawBody');
    expect((await deploy(['--route=webhook', 'beta'])).writes).toEqual([]);
  });

  test('warns when the project lacks transaction-bundles', async () => {
    await start({ features: ['bots'] });
    const run = await deploy(['beta']);

    expect(run.code).toBe(0);
    expect(run.output).toMatch(/features\s+warning\s+missing: transaction-bundles/);
    expect(run.output).toContain('"transaction-bundles" is missing: transactions are not atomic');
  });

  test('without the bots feature $deploy fails and the fix points at the feature', async () => {
    await start({ features: [] });
    const run = await deploy(['beta']);

    expect(run.code).toBe(1);
    expect(run.output).toContain('Bots not enabled');
    expect(run.output).toContain('the project lacks the "bots" feature');
    expect(run.output).toContain('"bots" is missing: no bot runs');
  });
});

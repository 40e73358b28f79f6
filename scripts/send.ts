// `npm run send -- <source> <sample> [--url URL] [--secret S]`: signs a sample payload exactly as its vendor
// does (fresh timestamp, the vendor's headers, content type and body encoding) and posts it, to the local
// runner by default or to any `$execute` or `/webhook` URL, such as a real Medplum project's.
import { parseArgs } from 'node:util';
import type { ClientCredentials } from './lib/basic-auth.ts';
import { localCredentials } from './lib/basic-auth.ts';
import type { PostResult } from './lib/deliver.ts';
import { parseJsonBody, postDelivery, signSample } from './lib/deliver.ts';
import { readSample, sampleNames } from './lib/samples.ts';
import { resolveSecrets } from './lib/secrets.ts';
import type { Delivery, Signer } from './lib/signers/index.ts';
import { demoSecrets, findSigner, missingSignerMessage } from './lib/signers/index.ts';
import { DEFAULT_HOST, DEFAULT_PORT, executeUrl, webhookUrl } from './lib/local-routes.ts';

const USAGE = `Usage: npm run send -- <source> <sample> [options]

  <source>           a bot with a signer, e.g. stripe
  <sample>           a file of test/fixtures/<source>/ without .json (e.g. invoice.paid),
                     or a handshake the vendor makes (e.g. okta verification)

Options:
  --url URL          where to post (default: the local runner's $execute for <source>, with its Basic auth).
                     Credentials in the URL (https://ID:SECRET@host/fhir/R4/Bot/ID/$execute) become Basic auth.
  --webhook          post to the local runner's /webhook/<source> route (raw body, no auth) instead
  --secret S         the signing secret (default: <SECRET_NAME> from the environment or .env, else the demo value)
  --tamper           sign with a wrong secret: the bot must refuse it with HTTP 400
  --dry-run          print the request instead of sending it

Exit status: 0 when the answer is what the request deserves (2xx, or 400 for --tamper), 1 otherwise.`;

export interface SendOptions {
  readonly source: string;
  readonly sample: string;
  readonly url?: string;
  readonly webhook?: boolean;
  readonly secret?: string;
  readonly tamper?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly fixturesDir?: string;
}

export interface PreparedSend {
  readonly url: string;
  readonly delivery: Delivery;
  readonly credentials?: ClientCredentials;
  /** Checks the answer for a handshake; undefined for event deliveries. */
  readonly check?: (status: number, body: string) => string | undefined;
  /** Secret values used, so printed requests can hide them. */
  readonly secretValues: readonly string[];
}

/** Signs the sample (or builds the handshake) and works out where it goes; sends nothing. */
export function prepareSend(options: SendOptions): PreparedSend {
  const signer = findSigner(options.source);
  if (!signer) {
    throw new Error(missingSignerMessage(options.source));
  }
  const env = options.env ?? process.env;
  const secrets = signingSecrets(signer, options.secret, env);
  const target = targetUrl(options, env);
  const secretValues = Object.values(secrets).filter((value): value is string => Boolean(value));
  const handshake = signer.handshakes?.find((candidate) => candidate.name === options.sample);
  if (handshake) {
    const { delivery, check } = handshake.prepare({ secrets, nowSeconds: Math.floor(Date.now() / 1000) });
    return { ...target, delivery, check, secretValues };
  }
  const sample = readSampleOrHandshake(signer, options);
  const delivery = signSample({ signer, payload: sample.payload, secrets, tampered: options.tamper });
  return { ...target, delivery, secretValues };
}

function readSampleOrHandshake(signer: Signer, options: SendOptions): ReturnType<typeof readSample> {
  try {
    return readSample(signer.source, options.sample, options.fixturesDir);
  } catch (err) {
    const handshakes = signer.handshakes?.map((handshake) => handshake.name) ?? [];
    if (handshakes.length === 0) {
      throw err;
    }
    throw new Error(`${(err as Error).message} Handshakes: ${handshakes.join(', ')}.`, { cause: err });
  }
}

/** The signer's secrets: `--secret` for the signing secret, then environment, `.env`, demo values. */
function signingSecrets(
  signer: Signer,
  secret: string | undefined,
  env: Readonly<Record<string, string | undefined>>
): Record<string, string | undefined> {
  const names = new Set([signer.secretName, ...Object.keys(signer.demoSecrets), ...(signer.settingNames ?? [])]);
  const resolved = resolveSecrets(
    { names },
    {
      explicit: secret ? { [signer.secretName]: secret } : {},
      env,
      demoValues: demoSecrets(),
    }
  );
  return Object.fromEntries([...resolved].map(([name, { value }]) => [name, value]));
}

function targetUrl(
  options: SendOptions,
  env: Readonly<Record<string, string | undefined>>
): { url: string; credentials?: ClientCredentials } {
  if (options.url) {
    return { url: options.url };
  }
  const base = `http://${DEFAULT_HOST}:${env.PORT || DEFAULT_PORT}`;
  if (options.webhook) {
    return { url: webhookUrl(base, options.source) };
  }
  return { url: executeUrl(base, options.source), credentials: localCredentials(env) };
}

/** True when the answer is what the request deserves. */
export function answerIsExpected(prepared: PreparedSend, result: PostResult, tamper: boolean): string | undefined {
  if (prepared.check) {
    return prepared.check(result.status, result.body);
  }
  if (tamper) {
    return result.status === 400 ? undefined : `expected HTTP 400 for a tampered delivery, got ${result.status}`;
  }
  return result.status >= 200 && result.status < 300 ? undefined : `HTTP ${result.status}`;
}

function describeRequest(prepared: PreparedSend): string[] {
  const hide = (value: string): string =>
    prepared.secretValues.reduce((text, secret) => text.split(secret).join('<secret>'), value);
  const lines = [`${prepared.delivery.method} ${prepared.url}`];
  for (const [name, value] of Object.entries(prepared.delivery.headers)) {
    lines.push(`${name}: ${hide(value)}`);
  }
  if (prepared.credentials) {
    lines.push('Authorization: Basic <local runner credentials>');
  }
  if (prepared.delivery.body !== undefined) {
    lines.push('', prepared.delivery.body);
  }
  return lines;
}

function printAnswer(result: PostResult): void {
  console.log(`HTTP ${result.status} in ${result.durationMs} ms`);
  const json = parseJsonBody(result.body);
  console.log(json === undefined ? result.body : JSON.stringify(json, null, 2));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      webhook: { type: 'boolean' },
      tamper: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [source, sample] = positionals;
  if (values.help || !source || !sample) {
    console.log(USAGE);
    if (source && !sample) {
      console.log(`\nSamples for ${source}: ${sampleNames(source).join(', ') || 'none'}`);
    }
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const prepared = prepareSend({ source, sample, ...values });
  if (values['dry-run']) {
    describeRequest(prepared).forEach((line) => console.log(line));
    return;
  }
  console.log(`${prepared.delivery.method} ${prepared.url} (${source} ${sample}${values.tamper ? ', tampered' : ''})`);
  const result = await postDelivery(prepared);
  printAnswer(result);
  const problem = answerIsExpected(prepared, result, Boolean(values.tamper));
  if (problem) {
    console.error(`send: ${problem}`);
    process.exitCode = 1;
  }
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(`send: ${err.message}`);
    process.exit(1);
  });
}

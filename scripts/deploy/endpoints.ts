// What the customer pastes into each vendor's dashboard: the `$execute` URL with the webhook
// client's credentials (masked unless --show-secrets), the public `/webhook/...` alternative, and
// where it goes.
import type { Route } from './args.ts';
import type { BotState, DeployContext } from './context.ts';
import type { Log } from './report.ts';

const MASK = '****';

export interface Endpoint {
  readonly botName: string;
  readonly vendor: string;
  readonly route: Route;
  readonly secrets: readonly string[];
  /** `{base}/fhir/R4/Bot/{id}/$execute`, for dashboards that take credentials in a header. */
  readonly executeUrl: string;
  /** The same with `client id:secret@` in it, for dashboards that take a URL only. */
  readonly urlWithCredentials: string;
  /** `Basic base64(id:secret)`. */
  readonly authorization: string;
  /** `{base}/webhook/{bot membership id}`: needs no credentials; open only with --route=webhook. */
  readonly publicUrl: string;
}

interface VendorHint {
  readonly where: string;
  readonly fields: (endpoint: Endpoint) => string[];
}

/** Vendor dashboard set-up, by the `vendor` of medplum.config.json; the README says more. */
const VENDOR_HINTS: Record<string, VendorHint> = {
  Stripe: {
    where: 'Stripe Dashboard > Developers > Webhooks > Add endpoint',
    fields: (endpoint) => [
      `Endpoint URL: ${endpoint.route === 'webhook' ? endpoint.publicUrl : endpoint.urlWithCredentials}`,
      'Select events: all customer and invoice events, payment_intent.succeeded, charge.refunded',
      `then reveal the endpoint's Signing secret (whsec_...) and store it as ${secretNames(endpoint)}`,
    ],
  },
  Okta: {
    where: 'Okta Admin Console > Workflow > Event Hooks > Create Event Hook',
    fields: (endpoint) => [
      `URL: ${endpoint.route === 'webhook' ? endpoint.publicUrl : endpoint.executeUrl}`,
      ...(endpoint.route === 'webhook' ? [] : [`Custom header fields: Authorization = ${endpoint.authorization}`]),
      'Authentication field: x-okta-webhook-secret',
      `Authentication secret: a long random value, also stored as ${secretNames(endpoint)}`,
      'Subscribe to events: those the README Okta section lists; save, then Verify (a GET)',
    ],
  },
};

function secretNames(endpoint: Endpoint): string {
  const names = endpoint.secrets.length > 0 ? endpoint.secrets.join(', ') : 'its project secret';
  return `the project secret ${names} (or in .env, then npm run deploy -- --set-secrets)`;
}

/** The endpoint of a bot whose Bot, membership and webhook client all exist. */
export function endpointOf(ctx: DeployContext, state: BotState): Endpoint | undefined {
  const { bot, botMembership, client } = state;
  if (!bot || !botMembership || !client?.secret) {
    return undefined;
  }
  const base = new URL(ctx.session.baseUrl);
  const execute = new URL(`fhir/R4/Bot/${bot.id}/$execute`, base);
  const show = ctx.flags.showSecrets;
  const password = show ? encodeURIComponent(client.secret) : MASK;
  const credentials = `${encodeURIComponent(client.id)}:${password}`;
  return {
    botName: state.entry.name,
    vendor: state.entry.vendor,
    route: state.route,
    secrets: state.entry.secrets,
    executeUrl: execute.href,
    urlWithCredentials: `${execute.protocol}//${credentials}@${execute.host}${execute.pathname}`,
    authorization: `Basic ${show ? btoa(`${client.id}:${client.secret}`) : MASK}`,
    publicUrl: new URL(`webhook/${botMembership.id}`, base).href,
  };
}

export function printEndpoints(ctx: DeployContext, states: readonly BotState[], log: Log): void {
  const endpoints = states.map((state) => endpointOf(ctx, state)).filter((endpoint) => endpoint !== undefined);
  if (endpoints.length === 0) {
    return;
  }
  log('');
  log('Webhook endpoints');
  for (const endpoint of endpoints) {
    printEndpoint(endpoint, log);
  }
  if (!ctx.flags.showSecrets) {
    log(`  (${MASK} is the webhook client's secret: run with --show-secrets to print it)`);
  }
}

function printEndpoint(endpoint: Endpoint, log: Log): void {
  const publicNote = endpoint.route === 'webhook' ? 'in use' : 'closed; open it with --route=webhook';
  log(`  ${endpoint.botName} (${endpoint.vendor})`);
  log(`    $execute URL:  ${endpoint.urlWithCredentials}`);
  log(`    or the header  Authorization: ${endpoint.authorization}  on ${endpoint.executeUrl}`);
  log(`    public route:  ${endpoint.publicUrl}  (${publicNote})`);
  const hint = VENDOR_HINTS[endpoint.vendor];
  if (!hint) {
    log(`    in ${endpoint.vendor}'s webhook settings: the $execute URL, or the URL and the header`);
    return;
  }
  log(`    ${hint.where}:`);
  for (const field of hint.fields(endpoint)) {
    log(`      ${field}`);
  }
}

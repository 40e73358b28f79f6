import type { BotEvent, MedplumClient } from '@medplum/core';
import type {
  AuditEvent,
  AuditEventAgent,
  Coding,
  ContactPoint,
  HumanName,
  Patient,
  Practitioner,
} from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { BotConfigurationError, PayloadError, WebhookError, WebhookVerificationError } from './lib/errors.ts';
import type { FhirClient, PlanResult, ResourceKey, ResourceResult, SyncPlan } from './lib/fhir-sync.ts';
import { syncPlans } from './lib/fhir-sync.ts';
import { describeResults, logDecision, overallOutcome } from './lib/log.ts';
import type { Shape } from './lib/payload.ts';
import { checkShape } from './lib/payload.ts';
import { parseJsonObject } from './lib/raw-body.ts';
import { readOptionalSecret, readSigningSecrets } from './lib/secrets.ts';
import { safeEqual } from './lib/signature.ts';
import { logFailures, readHeader } from './lib/webhook.ts';

const SOURCE = 'okta';

/** The shared secret Okta sends in a header of every request, verification GET included. */
export const OKTA_SECRET_NAME = 'OKTA_WEBHOOK_SECRET';
/** Optional bot secret: the name of the header that carries OKTA_WEBHOOK_SECRET. */
export const OKTA_SECRET_HEADER_SETTING = 'OKTA_WEBHOOK_SECRET_HEADER';
/** `Authorization` carries Medplum's Basic credentials on `$execute`, so the default is a custom header. */
export const DEFAULT_SECRET_HEADER = 'x-okta-webhook-secret';
/** Optional bot secret: `Practitioner` (default) or `Patient`, the resource an Okta user maps to. */
export const OKTA_USER_RESOURCE_TYPE_SETTING = 'OKTA_USER_RESOURCE_TYPE';
/** Optional bot secret: comma-separated Okta event types to record as AuditEvents besides logins. */
export const OKTA_AUDIT_EVENT_TYPES_SETTING = 'OKTA_AUDIT_EVENT_TYPES';
const VERIFICATION_HEADER = 'x-okta-verification-challenge';

export const OKTA_SYSTEMS = {
  /** Okta user ids (`00u...`); see the README for why the org domain is not part of the system. */
  user: 'https://okta.com/user',
  /** Okta System Log event uuids: the meta.tag that makes each AuditEvent a conditional create. */
  event: 'https://okta.com/event',
  eventType: 'https://okta.com/event-type',
} as const;

/** Logins are always recorded; other security events only when the customer opts in. */
const ALWAYS_AUDITED = ['user.session.start'];

type UserResourceType = 'Practitioner' | 'Patient';
type OktaUserResource = Practitioner | Patient;

interface OktaSettings {
  readonly secrets: readonly string[];
  readonly secretHeader: string;
  readonly userResourceType: UserResourceType;
  readonly auditedTypes: ReadonlySet<string>;
}

/** What Okta's verification GET gets back; Okta activates the hook when the challenge is echoed. */
export interface OktaVerificationAnswer {
  readonly verification: string;
}

export interface OktaEventResult {
  readonly eventId: string;
  readonly eventType: string;
  /** written, unchanged, stale, ignored, duplicate or rejected. */
  readonly outcome: string;
  readonly resources: readonly ResourceResult[];
}

export interface OktaDeliveryResult {
  readonly received: number;
  readonly events: OktaEventResult[];
}

/**
 * Keeps Practitioners (or Patients) in step with the users of an Okta org, and records logins.
 *
 * Triggered by: an Okta event hook calling this bot's `$execute` URL (or its `/webhook` route): once
 * with the verification GET, then with a POST per batch of events (`data.events[]`).
 * Reads secrets: `OKTA_WEBHOOK_SECRET` (and `OKTA_WEBHOOK_SECRET_PREVIOUS` during a rotation), optional
 * `OKTA_WEBHOOK_SECRET_HEADER`, `OKTA_USER_RESOURCE_TYPE` and `OKTA_AUDIT_EVENT_TYPES`.
 * Writes: Practitioner or Patient (user lifecycle and profile events) and AuditEvent (logins and opted-in
 * security events), the whole batch in one transaction. An event the bot cannot read is logged as rejected
 * and the rest of its batch is still written; event types it does not map are acknowledged and logged.
 */
export async function handler(
  medplum: MedplumClient,
  event: BotEvent
): Promise<OktaVerificationAnswer | OktaDeliveryResult> {
  return logFailures(SOURCE, async (context) => {
    const settings = readSettings(event);
    verifySharedSecret(event, settings);

    const challenge = readHeader(event, VERIFICATION_HEADER);
    if (challenge !== undefined) {
      logDecision({ source: SOURCE, eventType: 'event hook verification', outcome: 'answered' });
      return { verification: challenge };
    }

    const delivery = readDelivery(event.input);
    context.eventId = delivery.deliveryId;
    context.eventType = `delivery of ${delivery.events.length} events`;
    if (delivery.events.length === 0) {
      logDecision({ source: SOURCE, eventId: delivery.deliveryId, outcome: 'acknowledged', reason: 'no events' });
    }
    const decisions = decideAll(delivery, settings);
    const written = await withOneRetry(() => writeDecisions(medplum, decisions));
    return { received: delivery.events.length, events: decisions.map((decision) => report(decision, written)) };
  });
}

// ---- Settings and verification ----

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function readSettings(event: BotEvent): OktaSettings {
  const secrets = readSigningSecrets(event, OKTA_SECRET_NAME);
  const secretHeader = (readOptionalSecret(event, OKTA_SECRET_HEADER_SETTING) ?? DEFAULT_SECRET_HEADER).toLowerCase();
  if (!HEADER_NAME.test(secretHeader)) {
    throw new BotConfigurationError(
      `Bot secret ${OKTA_SECRET_HEADER_SETTING} is not a valid HTTP header name; ` +
        `set it to the header name entered in Okta (for example ${DEFAULT_SECRET_HEADER}).`
    );
  }
  const extraAudited = (readOptionalSecret(event, OKTA_AUDIT_EVENT_TYPES_SETTING) ?? '')
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  return {
    secrets,
    secretHeader,
    userResourceType: readUserResourceType(event),
    auditedTypes: new Set([...ALWAYS_AUDITED, ...extraAudited]),
  };
}

function readUserResourceType(event: BotEvent): UserResourceType {
  const value = readOptionalSecret(event, OKTA_USER_RESOURCE_TYPE_SETTING) ?? 'Practitioner';
  const type = (['Practitioner', 'Patient'] as const).find((known) => known.toLowerCase() === value.toLowerCase());
  if (type) {
    return type;
  }
  if (value.toLowerCase() === 'relatedperson') {
    throw new BotConfigurationError(
      `Bot secret ${OKTA_USER_RESOURCE_TYPE_SETTING} is RelatedPerson, but FHIR requires a RelatedPerson's ` +
        'patient and Okta events do not say who that is; set it to Patient or Practitioner.'
    );
  }
  throw new BotConfigurationError(
    `Bot secret ${OKTA_USER_RESOURCE_TYPE_SETTING} must be Practitioner or Patient; change it or remove it.`
  );
}

/**
 * Okta authenticates with a static value in a header (no signature over the body). It sends that header
 * on the verification GET too, so the handshake also proves the secret is configured the same on both sides.
 */
function verifySharedSecret(event: BotEvent, settings: OktaSettings): void {
  const header = settings.secretHeader;
  const provided = readHeader(event, header);
  if (provided === undefined) {
    throw new WebhookVerificationError(
      `The ${header} header is missing, so the request cannot be shown to come from Okta; in the event hook ` +
        `in Okta, send ${OKTA_SECRET_NAME} in a header named ${header} or set ${OKTA_SECRET_HEADER_SETTING}.`
    );
  }
  // Compare digests: equal lengths, so neither the secret's content nor its length shows in the timing.
  const matches = settings.secrets.some((secret) => safeEqual(sha256(provided), sha256(secret)));
  if (!matches) {
    throw new WebhookVerificationError(
      `The ${header} header does not match ${OKTA_SECRET_NAME}; make the event hook in Okta send exactly the ` +
        "bot secret's value. On $execute, authorization holds Medplum's credentials: use a custom header there."
    );
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

// ---- Reading a delivery ----

/** The fields of Okta's LogEvent (the System Log object that event hooks deliver) that the bot reads. */
interface OktaLogEvent {
  readonly uuid: string;
  readonly published: string;
  readonly eventType: string;
  readonly displayMessage?: string;
  readonly actor?: OktaParty;
  readonly target: readonly OktaParty[];
  readonly result?: string;
  readonly reason?: string;
  readonly ipAddress?: string;
}

interface OktaParty {
  readonly id: string;
  readonly type: string;
  readonly alternateId?: string;
  readonly displayName?: string;
}

interface OktaDelivery {
  /** The delivery's own id (`eventId` of the event hook's envelope), for the failure log line. */
  readonly deliveryId?: string;
  readonly events: readonly unknown[];
  /** The Okta org's host, from the delivery's `source` URL. */
  readonly orgHost?: string;
}

function readDelivery(input: unknown): OktaDelivery {
  const body = typeof input === 'string' ? parseJsonObject(input) : input;
  const events = isObject(body) && isObject(body.data) ? body.data.events : undefined;
  if (!isObject(body) || !Array.isArray(events)) {
    throw new PayloadError(
      'The body has no data.events array, so it is not an Okta event hook delivery; ' +
        'point only Okta event hooks at this bot, with Content-Type application/json.'
    );
  }
  return { deliveryId: stringOrUndefined(body.eventId), events, orgHost: hostOf(body.source) };
}

const PARTY_SHAPE: Shape = { displayName: ['string', 'null'], alternateId: ['string', 'null'] };

/** The optional fields of Okta's LogEvent that the bot reads: absent is fine, another type is not. */
const EVENT_SHAPE: Shape = {
  displayMessage: ['string', 'null'],
  outcome: { types: ['object', 'null'], fields: { result: ['string'], reason: ['string', 'null'] } },
  client: { types: ['object', 'null'], fields: { ipAddress: ['string', 'null'] } },
  actor: { types: ['object', 'null'], fields: PARTY_SHAPE },
  target: { types: ['array', 'null'], items: { types: ['object', 'null'], fields: PARTY_SHAPE } },
};

/**
 * Checks the fields every event needs, and the types of the optional ones: an event whose outcome
 * or names are not what Okta documents is rejected rather than read as a success without them.
 */
function readOktaEvent(raw: unknown, position: number): OktaLogEvent {
  const event = isObject(raw) ? raw : {};
  const { uuid, published, eventType } = event;
  if (typeof uuid !== 'string' || !uuid || typeof eventType !== 'string' || !eventType) {
    throw new PayloadError(`Event #${position} has no uuid or eventType; Okta sends both with every event.`);
  }
  if (typeof published !== 'string' || Number.isNaN(Date.parse(published))) {
    throw new PayloadError(`Event ${uuid} has no valid published time, so it cannot be ordered against others.`);
  }
  checkShape(event, EVENT_SHAPE, `data.events[${position - 1}]`);
  const outcome = isObject(event.outcome) ? event.outcome : {};
  const client = isObject(event.client) ? event.client : {};
  return {
    uuid,
    published,
    eventType,
    displayMessage: stringOrUndefined(event.displayMessage),
    actor: readParty(event.actor),
    target: (Array.isArray(event.target) ? event.target : []).map(readParty).filter((party) => party !== undefined),
    result: stringOrUndefined(outcome.result),
    reason: stringOrUndefined(outcome.reason),
    ipAddress: stringOrUndefined(client.ipAddress),
  };
}

function readParty(raw: unknown): OktaParty | undefined {
  if (!isObject(raw) || typeof raw.id !== 'string' || !raw.id || typeof raw.type !== 'string') {
    return undefined;
  }
  return {
    id: raw.id,
    type: raw.type,
    alternateId: stringOrUndefined(raw.alternateId),
    displayName: stringOrUndefined(raw.displayName),
  };
}

// ---- Deciding what each event does ----

/** What one event of the batch turned into: a plan to write, or a decision already final. */
type Decision = { readonly eventId: string; readonly eventType: string } & (
  | { readonly kind: 'write'; readonly plan: SyncPlan }
  | { readonly kind: 'settled'; readonly outcome: string; readonly reason?: string }
);

/**
 * Maps every event on its own, so one unreadable event is rejected (and logged) without losing the
 * others. Rejecting the whole delivery would lose them all: Medplum answers a bot's error with HTTP 400,
 * and Okta never redelivers after a 4xx.
 */
function decideAll(delivery: OktaDelivery, settings: OktaSettings): Decision[] {
  const seen = new Set<string>();
  return delivery.events.map((raw, index) => {
    const position = index + 1;
    try {
      const event = readOktaEvent(raw, position);
      if (seen.has(event.uuid)) {
        return settled(event, 'duplicate', 'the same uuid came earlier in this delivery');
      }
      seen.add(event.uuid);
      return decide(event, settings, delivery.orgHost);
    } catch (err) {
      if (!(err instanceof PayloadError)) {
        throw err;
      }
      const eventId = isObject(raw) && typeof raw.uuid === 'string' && raw.uuid ? raw.uuid : `event #${position}`;
      const eventType = isObject(raw) && typeof raw.eventType === 'string' ? raw.eventType : 'unknown type';
      return { eventId, eventType, kind: 'settled', outcome: 'rejected', reason: `${err.name}: ${err.message}` };
    }
  });
}

function decide(event: OktaLogEvent, settings: OktaSettings, orgHost: string | undefined): Decision {
  const ids = { eventId: event.uuid, eventType: event.eventType };
  if (isUserEventType(event.eventType)) {
    if (event.result !== undefined && event.result !== 'SUCCESS') {
      return settled(event, 'ignored', `Okta reports outcome ${event.result}, so the user did not change`);
    }
    return { ...ids, kind: 'write', plan: mapUserEvent(event, USER_EVENTS[event.eventType], settings) };
  }
  if (settings.auditedTypes.has(event.eventType)) {
    return { ...ids, kind: 'write', plan: mapAuditEvent(event, settings, orgHost) };
  }
  const hint = `unsubscribe from it in Okta or list it in ${OKTA_AUDIT_EVENT_TYPES_SETTING}`;
  return settled(event, 'ignored', `not mapped; ${hint}`);
}

function settled(event: OktaLogEvent, outcome: string, reason: string): Decision {
  return { eventId: event.uuid, eventType: event.eventType, kind: 'settled', outcome, reason };
}

// ---- Users: Practitioner or Patient ----

type UserEventType =
  | 'user.lifecycle.create'
  | 'user.lifecycle.activate'
  | 'user.lifecycle.reactivate'
  | 'user.lifecycle.unsuspend'
  | 'user.lifecycle.suspend'
  | 'user.lifecycle.deactivate'
  | 'user.lifecycle.delete.initiated'
  | 'user.lifecycle.delete.completed'
  | 'user.account.update_profile';

interface UserEventRule {
  /** What `active` becomes; a profile update leaves it alone. */
  readonly active?: boolean;
  /** Breaks ties of equal `published` times: the later stage of a user's life wins. */
  readonly rank: number;
}

/**
 * The user events, typed by name. A created user is STAGED in Okta and cannot sign in until activated,
 * so it starts inactive. A deleted user stays in Medplum, inactive: its history still points at it.
 */
const USER_EVENTS: Record<UserEventType, UserEventRule> = {
  'user.lifecycle.create': { active: false, rank: 1 },
  'user.account.update_profile': { rank: 2 },
  'user.lifecycle.activate': { active: true, rank: 3 },
  'user.lifecycle.reactivate': { active: true, rank: 3 },
  'user.lifecycle.unsuspend': { active: true, rank: 3 },
  'user.lifecycle.suspend': { active: false, rank: 4 },
  'user.lifecycle.deactivate': { active: false, rank: 5 },
  'user.lifecycle.delete.initiated': { active: false, rank: 6 },
  'user.lifecycle.delete.completed': { active: false, rank: 7 },
};

/** The event types Okta should deliver for users; the README lists them for the admin console. */
export const USER_EVENT_TYPES = Object.keys(USER_EVENTS) as UserEventType[];

function isUserEventType(eventType: string): eventType is UserEventType {
  return Object.hasOwn(USER_EVENTS, eventType);
}

function userKey(resourceType: UserResourceType, oktaUserId: string): ResourceKey {
  return { resourceType, system: OKTA_SYSTEMS.user, value: oktaUserId };
}

/**
 * Lifecycle events own `active`; every user event also carries the user's name and login as they were
 * then, which the profile aspect owns. Each aspect keeps its own event time, so a late deactivate still
 * lands after a newer profile update, and an old name never overwrites a newer one.
 */
function mapUserEvent(event: OktaLogEvent, rule: UserEventRule, settings: OktaSettings): SyncPlan {
  const user = event.target.find((party) => party.type === 'User' && party.id !== 'unknown');
  if (!user) {
    throw new PayloadError(`Event ${event.uuid} has no target of type User, so there is no user to update.`);
  }
  const resourceType = settings.userResourceType;
  return {
    eventId: event.uuid,
    eventType: event.eventType,
    occurredAt: event.published,
    rank: rule.rank,
    upserts: [
      ...(rule.active === undefined
        ? []
        : [{ key: userKey(resourceType, user.id), aspect: 'lifecycle', build: () => ({ active: rule.active }) }]),
      {
        key: userKey(resourceType, user.id),
        aspect: 'profile',
        build: ({ current }): Partial<OktaUserResource> =>
          personFields(resourceType, user, current as OktaUserResource | undefined),
      },
    ],
  };
}

/** Email `use` of the address the bot owns; a Patient's other addresses and a Practitioner's are kept. */
const EMAIL_USE: Record<UserResourceType, ContactPoint['use']> = { Practitioner: 'work', Patient: 'home' };

/**
 * The bot owns one name (`use: usual`, the Okta display name) and one email (the Okta login when it is an
 * address). Names and contact points that someone added in Medplum are kept.
 */
function personFields(
  resourceType: UserResourceType,
  person: OktaParty,
  current: OktaUserResource | undefined
): Pick<OktaUserResource, 'name' | 'telecom'> {
  const fields: Pick<OktaUserResource, 'name' | 'telecom'> = {};
  const displayName = person.displayName?.trim();
  if (displayName && displayName !== 'unknown') {
    const name: HumanName = { use: 'usual', text: displayName };
    fields.name = replaceOwned(current?.name, (entry) => entry.use === 'usual', name);
  }
  const login = person.alternateId?.trim();
  if (login && /^[^\s@]+@[^\s@]+$/.test(login)) {
    const email: ContactPoint = { system: 'email', value: login, use: EMAIL_USE[resourceType] };
    const owned = (entry: ContactPoint): boolean => entry.system === 'email' && entry.use === email.use;
    fields.telecom = replaceOwned(current?.telecom, owned, email);
  }
  return fields;
}

/** Puts `replacement` where the first owned entry was (or at the end), dropping other owned entries. */
function replaceOwned<T>(list: readonly T[] | undefined, owned: (entry: T) => boolean, replacement: T): T[] {
  const entries = list ?? [];
  const at = entries.findIndex(owned);
  const others = entries.filter((entry) => !owned(entry));
  return at < 0 ? [...others, replacement] : [...others.slice(0, at), replacement, ...others.slice(at)];
}

// ---- Security events: AuditEvent ----

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const USER_AUTHENTICATION: Coding = { system: DCM, code: '110114', display: 'User Authentication' };
const SECURITY_ALERT: Coding = { system: DCM, code: '110113', display: 'Security Alert' };
const DCM_SUBTYPES: Partial<Record<string, Coding>> = {
  'user.session.start': { system: DCM, code: '110122', display: 'Login' },
  'user.session.end': { system: DCM, code: '110123', display: 'Logout' },
};
const HUMAN_USER: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
  code: 'humanuser',
  display: 'human user',
};
const SECURITY_SERVER: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  code: '6',
  display: 'Security Server',
};
/** Okta's outcome.result to AuditEvent.outcome: 0 success, 4 minor failure; others (CHALLENGE...) unset. */
const AUDIT_OUTCOMES: Partial<Record<string, AuditEvent['outcome']>> = {
  SUCCESS: '0',
  ALLOW: '0',
  FAILURE: '4',
  DENY: '4',
};

/**
 * One AuditEvent per security event, keyed on the event uuid in `meta.tag` (R4 AuditEvent has no
 * identifier), so a redelivery finds it. Its agent points at the user; a login from a user Medplum has
 * not heard of yet (created before the hook existed) creates that user from the login's actor.
 */
function mapAuditEvent(event: OktaLogEvent, settings: OktaSettings, orgHost: string | undefined): SyncPlan {
  const actor = event.actor;
  if (!actor) {
    throw new PayloadError(`Event ${event.uuid} has no actor, and an AuditEvent needs one.`);
  }
  const resourceType = settings.userResourceType;
  // Okta names the actor of a failed sign-in to an account it does not know `unknown`.
  const agentKey = actor.type === 'User' && actor.id !== 'unknown' ? userKey(resourceType, actor.id) : undefined;
  const dcmSubtype = DCM_SUBTYPES[event.eventType];
  const fields: Omit<AuditEvent, 'resourceType'> = {
    type: /^user\.(session|authentication)\./.test(event.eventType) ? USER_AUTHENTICATION : SECURITY_ALERT,
    subtype: [
      ...(dcmSubtype ? [dcmSubtype] : []),
      { system: OKTA_SYSTEMS.eventType, code: event.eventType, display: event.displayMessage },
    ],
    action: 'E',
    recorded: new Date(event.published).toISOString(),
    outcome: AUDIT_OUTCOMES[event.result ?? ''],
    outcomeDesc: event.reason,
    agent: [auditAgent(actor, event.ipAddress)],
    source: { observer: { display: 'Okta' }, site: orgHost, type: [SECURITY_SERVER] },
    entity: event.target
      .filter((party) => party.type === 'User' && party.id !== actor.id)
      .map((party) => ({ what: { type: resourceType, identifier: { system: OKTA_SYSTEMS.user, value: party.id } } })),
  };
  return {
    eventId: event.uuid,
    eventType: event.eventType,
    occurredAt: event.published,
    ensures: agentKey ? [{ key: agentKey, placeholder: userPlaceholder(resourceType, actor) }] : [],
    upserts: [
      {
        key: { resourceType: 'AuditEvent', system: OKTA_SYSTEMS.event, value: event.uuid, via: 'tag' },
        build: ({ reference }): Partial<AuditEvent> => {
          const [agent] = fields.agent;
          return { ...fields, agent: [{ ...agent, who: agentKey ? reference(agentKey) : undefined }] };
        },
      },
    ],
  };
}

/** A person is referenced (`who`, filled in when written); an app or Okta itself is named by its id. */
function auditAgent(actor: OktaParty, ipAddress: string | undefined): AuditEventAgent {
  const person = actor.type === 'User';
  return {
    type: person ? { coding: [HUMAN_USER] } : undefined,
    altId: person ? undefined : actor.id,
    name: person ? undefined : actor.displayName,
    requestor: true,
    network: ipAddress ? { address: ipAddress, type: '2' } : undefined,
  };
}

/** A user Medplum has not heard of yet (created before the hook existed); a lifecycle event completes it. */
function userPlaceholder(resourceType: UserResourceType, person: OktaParty): OktaUserResource {
  const resource = {
    resourceType,
    identifier: [{ system: OKTA_SYSTEMS.user, value: person.id }],
    ...personFields(resourceType, person, undefined),
  };
  return resource as OktaUserResource;
}

// ---- Writing: one read and one transaction for the whole batch ----

/**
 * A write that failed twice. Medplum answers a bot's error with HTTP 400 and Okta never redelivers after
 * a 4xx, so unlike other bots' write errors this one will not be retried by the vendor.
 */
export class OktaWriteError extends WebhookError {
  readonly retryable = false;
}

/**
 * Retries a write once when it failed for a passing reason (a concurrent delivery, a 412): Okta will not
 * retry it. Every write is a conditional create or a version-checked update, so the retry converges.
 */
async function withOneRetry<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isPassingWriteFailure(err)) {
      throw err;
    }
    logDecision({ source: SOURCE, outcome: 'retrying the write once', reason: `${err.name}: ${err.message}` });
  }
  try {
    return await work();
  } catch (err) {
    if (!isPassingWriteFailure(err)) {
      throw err;
    }
    throw new OktaWriteError(
      `${err.message} Retried once; Okta does not redeliver after an error, so its System Log ` +
        '(event_hook.delivery) lists the events of this delivery that Medplum is missing.'
    );
  }
}

function isPassingWriteFailure(err: unknown): err is WebhookError {
  return err instanceof WebhookError && err.retryable;
}

async function writeDecisions(medplum: FhirClient, decisions: readonly Decision[]): Promise<Map<SyncPlan, PlanResult>> {
  const plans = decisions.flatMap((decision) => (decision.kind === 'write' ? [decision.plan] : []));
  const results = await syncPlans(medplum, plans);
  return new Map(plans.map((plan, index) => [plan, results[index]]));
}

// ---- Reporting: one log line per event ----

function report(decision: Decision, written: Map<SyncPlan, PlanResult>): OktaEventResult {
  const { eventId, eventType } = decision;
  if (decision.kind === 'settled') {
    logDecision({ source: SOURCE, eventId, eventType, outcome: decision.outcome, reason: decision.reason });
    return { eventId, eventType, outcome: decision.outcome, resources: [] };
  }
  const result = written.get(decision.plan);
  if (!result) {
    throw new Error(`No write result for Okta event ${eventId}; this is a bug in the Okta bot.`);
  }
  const outcome = overallOutcome(result);
  logDecision({ source: SOURCE, eventId, eventType, outcome, reason: describeResults(result) });
  return { eventId, eventType, outcome, resources: result.resources };
}

// ---- Small readers ----

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') {
    return undefined;
  }
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

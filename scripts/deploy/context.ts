// What every step gets: the run's settings and session, and what earlier steps found.
import type { WithId } from '@medplum/core';
import type { AccessPolicy, Bot, ClientApplication, Coding, ProjectMembership } from '@medplum/fhirtypes';
import type { BotRuntime, DeployFlags, Route } from './args.ts';
import type { BotEntry, DeployConfig } from './config.ts';
import type { Env } from './env.ts';
import type { Session } from './medplum.ts';
import type { Log } from './report.ts';

/** Identifiers and tags deploy puts on what it creates, so later runs find the same objects. */
export const DEPLOY_SYSTEM = 'https://github.com/medplum-webhook-bots/deploy';
export const BOT_IDENTIFIER_SYSTEM = `${DEPLOY_SYSTEM}/bot`;

export function botPolicyTag(botName: string): Coding {
  return { system: DEPLOY_SYSTEM, code: `bot-policy:${botName}` };
}

export function webhookClientPolicyTag(botName: string): Coding {
  return { system: DEPLOY_SYSTEM, code: `webhook-client-policy:${botName}` };
}

/** One ClientApplication per webhook source: a vendor's credentials can call its own bot only. */
export function webhookClientName(botName: string): string {
  return `${botName} webhook client`;
}

/**
 * Medplum 5.0 calls the raw-body switch `webhookRawBodyEnabled`; later versions call it `rawBody`
 * (and apply it to `$execute` too). The installed @medplum/fhirtypes knows only the newer name.
 */
export type DeployedBot = Bot & { webhookRawBodyEnabled?: boolean };

export interface DeployContext {
  readonly session: Session;
  readonly config: DeployConfig;
  readonly flags: DeployFlags;
  readonly env: Env;
  readonly log: Log;
  readonly defaultRuntime: BotRuntime;
  /** Project features read at the start. */
  readonly features: readonly string[];
  /** Bots whose bundle is stale and, in a dry run, was not rebuilt. */
  readonly unbuilt: ReadonlySet<string>;
}

/** What the steps of one bot learn and hand on; undefined objects do not exist (yet). */
export interface BotState {
  readonly entry: BotEntry;
  readonly runtime: BotRuntime;
  readonly route: Route;
  policy?: WithId<AccessPolicy>;
  bot?: WithId<DeployedBot>;
  botMembership?: WithId<ProjectMembership>;
  /** This run created the Bot (and with it, its membership). */
  botCreated: boolean;
  /** The Bot is new or its runtime changed: its code must be deployed even if unchanged. */
  mustDeploy: boolean;
  clientPolicy?: WithId<AccessPolicy>;
  client?: WithId<ClientApplication>;
}

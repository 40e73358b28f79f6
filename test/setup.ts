// Loads FHIR R4 definitions into @medplum/core's global state before any test runs. Without them
// MockClient cannot index search parameters: identifier searches match nothing and upserts duplicate.
import { afterEach, expect } from 'vitest';
import { loadFhirDefinitions } from '../scripts/lib/fhir-store.ts';
import { takeInvalidWrites } from './medplum.ts';

loadFhirDefinitions();

// Every test checks that nothing a bot wrote would have been refused by a real Medplum server.
afterEach(() => {
  expect(takeInvalidWrites(), 'resources that a Medplum server would reject on write').toEqual([]);
});

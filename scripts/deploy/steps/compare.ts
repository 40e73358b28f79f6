// Decides "unchanged" for resources deploy manages, so a second run writes nothing.
import type { Resource } from '@medplum/fhirtypes';

/** True when two resources say the same thing, ignoring id, meta and key order. */
export function sameContent(actual: Resource, wanted: Resource): boolean {
  return canonical(withoutBookkeeping(actual)) === canonical(withoutBookkeeping(wanted));
}

function withoutBookkeeping(resource: Resource): Record<string, unknown> {
  const { id: _id, meta: _meta, ...content } = resource as Resource & Record<string, unknown>;
  return content;
}

/** JSON with object keys sorted and undefined values dropped, so equal content gives equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(inner).sort()) {
        sorted[key] = (inner as Record<string, unknown>)[key];
      }
      return sorted;
    }
    return inner;
  });
}

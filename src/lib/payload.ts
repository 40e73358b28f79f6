import { PayloadError } from './errors.ts';

/**
 * Checks the JSON types of the fields a mapper reads before it reads them, so a payload that does not
 * match the vendor's documented format is refused with a PayloadError naming the field, instead of
 * escaping as a TypeError or being written as an invalid (or silently incomplete) resource.
 */

/** A JSON type; `integer` is a number without a fraction, `null` also admits an absent field. */
export type JsonKind = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

export type FieldRule =
  | readonly JsonKind[]
  | {
      readonly types: readonly JsonKind[];
      /** When the value is an object: the rules of its fields. */
      readonly fields?: Shape;
      /** When the value is an object used as a map (Stripe's metadata): the rule of every value. */
      readonly values?: FieldRule;
      /** When the value is an array: the rule of every item. */
      readonly items?: FieldRule;
    };

/** The rules of the fields of an object, by name. */
export interface Shape {
  readonly [field: string]: FieldRule;
}

/** Throws a PayloadError naming the first field of `value` (at `path`) whose type breaks its rule. */
export function checkShape(value: Record<string, unknown>, shape: Shape, path: string): void {
  for (const [field, rule] of Object.entries(shape)) {
    checkField(value[field], rule, `${path}.${field}`);
  }
}

function checkField(value: unknown, rule: FieldRule, path: string): void {
  const { types, fields, values, items } = 'types' in rule ? rule : { types: rule };
  const kind = kindOf(value);
  if (!types.includes(kind) && !(kind === 'integer' && types.includes('number'))) {
    throw new PayloadError(
      `The payload's ${path} is ${describe(kind)}, where the vendor documents ${types.map(describe).join(' or ')}; ` +
        "check the webhook endpoint's API version."
    );
  }
  if (kind === 'object' && fields) {
    checkShape(value as Record<string, unknown>, fields, path);
  }
  if (kind === 'object' && values) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      checkField(child, values, `${path}.${key}`);
    }
  }
  if (kind === 'array' && items) {
    (value as unknown[]).forEach((child, index) => checkField(child, items, `${path}[${index}]`));
  }
}

function kindOf(value: unknown): JsonKind {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'integer' : 'number';
  }
  return typeof value as JsonKind;
}

function describe(kind: JsonKind): string {
  switch (kind) {
    case 'null':
      return 'null or absent';
    case 'array':
    case 'object':
    case 'integer':
      return `an ${kind}`;
    default:
      return `a ${kind}`;
  }
}

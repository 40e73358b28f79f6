import { describe, expect, test } from 'vitest';
import { PayloadError } from './errors.ts';
import type { Shape } from './payload.ts';
import { checkShape } from './payload.ts';

const SHAPE: Shape = {
  name: ['string', 'null'],
  amount: ['integer'],
  metadata: { types: ['object'], values: ['string'] },
  lines: {
    types: ['object'],
    fields: { data: { types: ['array'], items: { types: ['object'], fields: { qty: ['integer'] } } } },
  },
};
const VALID = { name: 'x', amount: 5, metadata: { a: 'b' }, lines: { data: [{ qty: 1 }] } };

describe('checkShape', () => {
  test('accepts documented types, null and absent where null is allowed', () => {
    expect(() => checkShape(VALID, SHAPE, 'data.object')).not.toThrow();
    expect(() => checkShape({ ...VALID, name: null }, SHAPE, 'data.object')).not.toThrow();
    expect(() => checkShape({ ...VALID, name: undefined }, SHAPE, 'data.object')).not.toThrow();
  });

  test.each([
    [{ ...VALID, name: false }, 'data.object.name is a boolean, where the vendor documents a string or null or absent'],
    [{ ...VALID, amount: 1.5 }, 'data.object.amount is a number, where the vendor documents an integer'],
    [{ ...VALID, amount: undefined }, 'data.object.amount is null or absent, where the vendor documents an integer'],
    [{ ...VALID, metadata: { a: 1 } }, 'data.object.metadata.a is an integer, where'],
    [{ ...VALID, lines: { data: 0 } }, 'data.object.lines.data is an integer, where the vendor documents an array'],
    [{ ...VALID, lines: { data: [null] } }, 'data.object.lines.data[0] is null or absent, where'],
    [{ ...VALID, lines: { data: [{ qty: '1' }] } }, 'data.object.lines.data[0].qty is a string, where'],
  ])('refuses %j, naming the field', (value, message) => {
    expect(() => checkShape(value, SHAPE, 'data.object')).toThrow(PayloadError);
    expect(() => checkShape(value, SHAPE, 'data.object')).toThrow(message);
  });

  test('accepts an integer where a number is documented', () => {
    expect(() => checkShape({ n: 3 }, { n: ['number'] }, 'p')).not.toThrow();
  });
});

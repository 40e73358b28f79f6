// How a bot must answer a hostile delivery, shared by hostile.test.ts and known-issues.test.ts.
import fc from 'fast-check';
import { expect } from 'vitest';
import { WebhookError } from '../../src/lib/errors.ts';
import type { BotUnderTest, InputShape, ReadField, SignedRequest, Store } from './harness.ts';
import { takeInvalidWrites } from '../medplum.ts';
import {
  credentialValues,
  deliverRequest,
  expectNoLeaks,
  fhirWrites,
  nowSeconds,
  sampleNamed,
  withConsoleCaptured,
} from './harness.ts';
import type { WrongType } from './mutations.ts';
import { fieldInstances, withValueAt, wrongTypeArbitrary } from './mutations.ts';

/** What a bot may do with a hostile delivery. */
export interface Refusal {
  /** WebhookError subclasses that may be thrown. */
  readonly errors: readonly string[];
  /** What the error message must name. */
  readonly mentions: RegExp;
  /** Whether acknowledging the delivery as ignored is acceptable too. */
  readonly ignoredOk: boolean;
  /** Whether the bot may accept and write it: a changed body under a credential that does not cover the body. */
  readonly mayWrite?: boolean;
}

/** A forged request must fail verification, and say which check failed. */
export const FORGED: Refusal = {
  errors: ['WebhookVerificationError'],
  mentions: /signature|header|timestamp|secret/i,
  ignoredOk: false,
};

/** An authentic body the bot cannot read must be refused as a payload problem, or ignored. */
export const UNREADABLE: Refusal = {
  errors: ['PayloadError'],
  mentions: /JSON|body|payload|object|event|nest/i,
  ignoredOk: true,
};

/**
 * A changed body under the right static secret is authentic as far as the bot can tell: it may be
 * written, but must still be valid FHIR, and refused only with a PayloadError that names the problem.
 */
export const AUTHENTIC: Refusal = { ...UNREADABLE, mayWrite: true };

/**
 * Delivers one hostile request and checks the outcome: an allowed WebhookError naming the problem, or
 * an ignored acknowledgement; never another exception type, never a FHIR write, never a leak.
 * `original` is the correctly signed request the hostile one came from: its credentials must not leak.
 */
export async function expectRefused(
  bot: BotUnderTest,
  store: Store,
  delivery: { original: SignedRequest; request: SignedRequest; shape: InputShape },
  refusal: Refusal
): Promise<void> {
  const medplum = await store.reset();
  let invalid: ReturnType<typeof takeInvalidWrites>;
  try {
    await withConsoleCaptured(async (lines) => {
      const outcome = await deliverRequest(bot, medplum, delivery.request, delivery.shape);
      const errors = outcome.ok ? [] : [outcome.error];
      expectNoLeaks(bot, { lines, errors, credentials: credentialValues(bot, delivery.original) });
      if (outcome.ok && !refusal.mayWrite) {
        expect(
          refusal.ignoredOk && bot.isIgnored(outcome.value),
          `accepted a hostile delivery: ${JSON.stringify(outcome.value)}`
        ).toBe(true);
      } else if (!outcome.ok) {
        const error = outcome.error as Error;
        const description = `${error?.name}: ${error?.message}`;
        expect(
          error instanceof WebhookError,
          `unhandled exception type escaped the bot: ${description}\n${error?.stack ?? ''}`
        ).toBe(true);
        expect(refusal.errors, `refused with an error type not allowed here: ${description}`).toContain(error.name);
        expect(error.message, 'the refusal does not name the problem').toMatch(refusal.mentions);
      }
    });
    if (!refusal.mayWrite) {
      expect(fhirWrites(medplum.requests), 'FHIR writes made for a hostile delivery').toEqual([]);
    }
  } finally {
    // Taken here even when an expectation failed, so the failure is reported once, with its case.
    invalid = takeInvalidWrites();
  }
  expect(invalid, 'resources that a Medplum server would reject on write').toEqual([]);
}

/** What a refusal of a wrong type must name: the field's own `mentions`, or its last key. */
function mentionsOf(field: ReadField): RegExp {
  if (field.mentions) {
    return field.mentions;
  }
  const key =
    field.path
      .split('.')
      .filter((segment) => segment !== '*')
      .at(-1) ?? field.path;
  return new RegExp(key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** The property: a correctly signed event with a wrong JSON type in one of `fields` is refused or ignored. */
export function wrongTypeProperty(
  bot: BotUnderTest,
  store: Store,
  fields: readonly ReadField[]
): fc.IAsyncPropertyWithHooks<[WrongType]> {
  const instances = fieldInstances(bot, fields);
  if (instances.length === 0) {
    throw new Error(`None of ${bot.name}'s samples has ${fields.map((f) => f.path).join(', ')}; check its readFields.`);
  }
  return fc.asyncProperty(wrongTypeArbitrary(instances), async (wrong) => {
    const field = instances.find((instance) => instance.sample === wrong.sample && instance.path === wrong.path)
      ?.field as ReadField;
    const body = withValueAt(sampleNamed(bot, wrong.sample).body, wrong.path, wrong.value);
    const request = bot.sign(body, { nowSeconds: nowSeconds() });
    await expectRefused(
      bot,
      store,
      { original: request, request, shape: wrong.shape },
      { errors: ['PayloadError'], mentions: mentionsOf(field), ignoredOk: true }
    );
  });
}

// Hostile input: anyone who finds a webhook URL can post to it, and a vendor can send a body the bot
// cannot read. Every mutation of a correctly signed delivery must be refused with a WebhookError that
// names the problem, or acknowledged as ignored, and must write nothing to FHIR.
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { BOTS } from './bots.ts';
import type { InputShape } from './harness.ts';
import { fcParams, PROPERTY_TIMEOUT_MS, nowSeconds, RUNS, sampleNamed, Store } from './harness.ts';
import type { BadPayload } from './mutations.ts';
import { badBody, badPayloadArbitrary, forge, forgeryArbitrary } from './mutations.ts';
import type { Refusal } from './refusal.ts';
import { AUTHENTIC, expectRefused, FORGED, UNREADABLE, wrongTypeProperty } from './refusal.ts';

function refusalFor(bad: BadPayload, shape: InputShape): Refusal {
  // A parsed value that is not an object, or one the vendor signed in another layout, leaves the bot
  // nothing it can check the signature against: refusing it as unverifiable is right too.
  if (shape === 'parsed object' && (bad.kind === 'JSON but not an object' || bad.kind === 'deeply nested JSON')) {
    return {
      ...UNREADABLE,
      errors: [...UNREADABLE.errors, 'WebhookVerificationError'],
      mentions: /JSON|body|object|nest|deep|signature/i,
    };
  }
  return UNREADABLE;
}

describe.each(BOTS)('$name', (bot) => {
  const store = new Store(bot);
  const body = (name: string) => sampleNamed(bot, name).body;

  const forgedName =
    `${bot.name} refuses forged deliveries: edited bodies and headers, removed headers, ` +
    'stale timestamps, foreign content types, oversized bodies';
  test(
    forgedName,
    async () => {
      await fc.assert(
        fc.asyncProperty(forgeryArbitrary(bot), async (forgery) => {
          const original = bot.sign(body(forgery.sample), { nowSeconds: nowSeconds() });
          const forged = forge(bot, original, forgery);
          fc.pre(forged !== undefined);
          if (!forged) {
            return;
          }
          const bodyOnly =
            forgery.kind === 'body edit' || forgery.kind === 'content type' || forgery.kind === 'oversized body';
          // Without a body signature, a changed body under the right credential is authentic:
          // it only has to be readable.
          const refusal = !bot.bodyIsSigned && bodyOnly ? AUTHENTIC : FORGED;
          await expectRefused(bot, store, { original, ...forged }, refusal);
        }),
        fcParams(RUNS.forged, forgedName)
      );
    },
    PROPERTY_TIMEOUT_MS
  );

  const unreadableName = `${bot.name} refuses signed bodies it cannot read: not JSON, not an object, too deep, too big`;
  test(
    unreadableName,
    async () => {
      await fc.assert(
        fc.asyncProperty(badPayloadArbitrary(bot), async (bad) => {
          const { body: text, shape } = badBody(bad, body);
          const request = bot.sign(text, { nowSeconds: nowSeconds() });
          await expectRefused(bot, store, { original: request, request, shape }, refusalFor(bad, shape));
        }),
        fcParams(RUNS.unreadable, unreadableName)
      );
    },
    PROPERTY_TIMEOUT_MS
  );

  const wrongTypeName = `${bot.name} refuses signed events with a wrong JSON type in a field it reads`;
  test(
    wrongTypeName,
    async () => {
      const fields = bot.readFields.filter((field) => !field.knownIssue);
      await fc.assert(wrongTypeProperty(bot, store, fields), fcParams(RUNS.wrongTypes, wrongTypeName));
    },
    PROPERTY_TIMEOUT_MS
  );
});

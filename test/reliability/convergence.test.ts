// Convergence: vendors deliver at least once and out of order. Whatever order and however many
// copies, one at a time, the bot must end in the state the in-order stream produces.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BOTS } from './bots.ts';
import type { BusinessState } from './harness.ts';
import {
  businessState,
  credentialValues,
  deliverRequest,
  expectNoInvalidWrites,
  expectNoLeaks,
  expectOneResourcePerIdentifier,
  expectSameState,
  fcParams,
  PROPERTY_TIMEOUT_MS,
  inOrderState,
  nowSeconds,
  RUNS,
  sampleNamed,
  Store,
  streamArbitrary,
  unaffectedByKnownIssues,
  withConsoleCaptured,
} from './harness.ts';

describe.each(BOTS)('$name', (bot) => {
  const store = new Store(bot);
  /** The in-order state of the first n samples, by n. */
  const expected = new Map<number, BusinessState>();
  async function inOrderStateOfFirst(count: number): Promise<BusinessState> {
    if (!expected.has(count)) {
      expected.set(count, await inOrderState(bot, count));
    }
    return expected.get(count) as BusinessState;
  }

  const name = `${bot.name} converges to the in-order state from any order of its samples, or a prefix, with copies`;
  test(
    name,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          streamArbitrary(bot, bot.samples.length, { prefixes: true }).filter(unaffectedByKnownIssues(bot)),
          async (stream) => {
            const medplum = await store.reset();
            await withConsoleCaptured(async (lines) => {
              const credentials: string[] = [];
              const errors: unknown[] = [];
              for (const { sample, shape } of stream) {
                const request = bot.sign(sampleNamed(bot, sample).body, { nowSeconds: nowSeconds() });
                credentials.push(...credentialValues(bot, request));
                const outcome = await deliverRequest(bot, medplum, request, shape);
                if (!outcome.ok) {
                  errors.push(outcome.error);
                }
              }
              expectNoLeaks(bot, { lines, errors, credentials });
              expect(errors, 'deliveries that failed one at a time, without faults').toEqual([]);
              // One line per decision: the leak check above is only as good as the logging it reads.
              expect(lines.length, 'log lines for the deliveries').toBeGreaterThanOrEqual(stream.length);
            });
            expectNoInvalidWrites();
            await expectOneResourcePerIdentifier(medplum, bot);
            const delivered = new Set(stream.map((delivery) => delivery.sample)).size;
            expectSameState(await businessState(medplum, bot), await inOrderStateOfFirst(delivered));
          }
        ),
        fcParams(RUNS.convergence, name)
      );
    },
    PROPERTY_TIMEOUT_MS
  );
});

// Faults: the FHIR server or the network fails part of a delivery. The bot must throw whenever its
// write did not go through (Medplum then answers 400 and the vendor retries), and the vendor's later
// redelivery must end in the same state as if nothing had failed.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { BOTS } from './bots.ts';
import type { BusinessState, InputShape, Settled, SignedRequest } from './harness.ts';
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
  nowSeconds,
  RUNS,
  sampleNamed,
  Store,
  streamArbitrary,
  withConsoleCaptured,
} from './harness.ts';
import type { Attempt, Fault, FaultKind } from './network.ts';
import { installNetwork } from './network.ts';

/** MedplumClient's default: a request is tried once and retried twice on 429, 5xx or a network error. */
const CLIENT_ATTEMPTS = 3;
/** The sync engine sends a transaction with `maxRetries: 0`: the vendor's redelivery is its retry. */
const TRANSACTION_ATTEMPTS = 1;

const faultArbitrary: fc.Arbitrary<Fault> = fc.record({
  target: fc.constantFrom('transaction' as const, 'read' as const),
  attempts: fc.array(fc.constantFrom<FaultKind>('throw', 'lost-response', '412', '429', '500'), {
    minLength: 1,
    maxLength: CLIENT_ATTEMPTS,
  }),
});

/** True when the client gives up on a request that meets these faults: a 412, or a fault on every attempt. */
function clientGivesUp(fault: Fault): boolean {
  const { target, attempts } = fault;
  for (let attempt = 0; attempt < (target === 'transaction' ? TRANSACTION_ATTEMPTS : CLIENT_ATTEMPTS); attempt++) {
    const kind = attempts[attempt];
    if (kind === undefined) {
      return false;
    }
    if (kind === '412') {
      return true;
    }
  }
  return true;
}

/**
 * Advances the fake clock until the work settles: MedplumClient waits 500 ms and 750 ms between
 * retries of a 429 or 5xx, which the property should not spend in real time.
 */
async function drive(work: Promise<Settled>): Promise<Settled> {
  let settled = false;
  void work.then(() => {
    settled = true;
  });
  while (!settled) {
    if (vi.getTimerCount() > 0) {
      await vi.advanceTimersToNextTimerAsync();
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return work;
}

interface PlannedDelivery {
  readonly request: SignedRequest;
  readonly shape: InputShape;
  readonly fault?: Fault;
  /** Where the vendor's redelivery goes if this one fails (an index into the later deliveries). */
  readonly retryAt: number;
}

describe.each(BOTS)('$name', (bot) => {
  const store = new Store(bot);
  const reference = new Store(bot);

  async function faultFreeState(deliveries: readonly PlannedDelivery[]): Promise<BusinessState> {
    await reference.reset();
    await withConsoleCaptured(async () => {
      for (const delivery of deliveries) {
        const outcome = await deliverRequest(bot, reference.medplum, delivery.request, delivery.shape);
        expect(outcome.ok, 'a delivery of the fault-free run').toBe(true);
      }
    });
    return businessState(reference.medplum, bot);
  }

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const name = `${bot.name} throws when a FHIR request fails and ends in the fault-free state after the vendor retries`;
  test(
    name,
    async () => {
      const cases = fc.record({
        stream: streamArbitrary(bot, 3),
        faults: fc.array(fc.record({ delivery: fc.nat(), fault: faultArbitrary, retryAt: fc.nat() }), {
          minLength: 1,
          maxLength: 3,
        }),
      });
      await fc.assert(
        fc.asyncProperty(cases, async ({ stream, faults }) => {
          const planned: PlannedDelivery[] = stream.map(({ sample, shape }) => ({
            request: bot.sign(sampleNamed(bot, sample).body, { nowSeconds: nowSeconds() }),
            shape,
            retryAt: 0,
          }));
          for (const { delivery, fault, retryAt } of faults) {
            planned[delivery % planned.length] = { ...planned[delivery % planned.length], fault, retryAt };
          }
          const medplum = await store.reset();
          // Every delivery in the order it ran, and whether its write took effect: `unknown` when it failed
          // after a transaction reached the server (a lost answer, or a later transaction of it failing).
          const timeline: { delivery: PlannedDelivery; applied: boolean | 'unknown' }[] = [];
          await withConsoleCaptured(async (lines) => {
            const errors: unknown[] = [];
            const queue = [...planned];
            while (queue.length > 0) {
              const delivery = queue.shift() as PlannedDelivery;
              const attempts: Attempt[] = [];
              const uninstall = installNetwork(medplum, { faults: delivery.fault ? [delivery.fault] : [], attempts });
              const outcome = await drive(deliverRequest(bot, medplum, delivery.request, delivery.shape)).finally(
                uninstall
              );
              const hit = attempts.some(
                (attempt) => attempt.target === delivery.fault?.target && attempt.fault !== undefined
              );
              // A bot that retries its own writes (Okta) may still get through; the end state is checked below.
              if (hit && delivery.fault && clientGivesUp(delivery.fault) && !bot.ownWriteRetries) {
                expect(
                  outcome.ok,
                  `the bot returned normally although its ${delivery.fault?.target} failed for good`
                ).toBe(false);
              } else if (!outcome.ok) {
                // A request that went through on a retry may still find its write overtaken (a transaction the
                // server applied before the answer was lost): the bot must then fail retryably.
                const { name, message } = outcome.error as Error;
                expect(bot.isRetryableFailure(outcome.error), `failed with ${name}: ${message}`).toBe(true);
              }
              if (!outcome.ok) {
                errors.push(outcome.error);
                // The vendor redelivers later, without faults this time.
                queue.splice(Math.min(delivery.retryAt, queue.length), 0, { ...delivery, fault: undefined });
              }
              const reached = attempts.some((attempt) => attempt.target === 'transaction' && attempt.reachedServer);
              timeline.push({ delivery, applied: outcome.ok || (reached ? 'unknown' : false) });
            }
            const credentials = planned.flatMap((delivery) => credentialValues(bot, delivery.request));
            expectNoLeaks(bot, { lines, errors, credentials });
          });
          expectNoInvalidWrites();
          await expectOneResourcePerIdentifier(medplum, bot);

          // The store must hold what a fault-free run of the deliveries that took effect makes. Where that
          // is unknown, either answer will do.
          const actual = await businessState(medplum, bot);
          const unknown = timeline.filter((entry) => entry.applied === 'unknown');
          let mismatch: unknown;
          for (let mask = 0; mask < 2 ** unknown.length; mask++) {
            const effective = timeline.filter(
              (entry) =>
                entry.applied === true || (entry.applied === 'unknown' && (mask >> unknown.indexOf(entry)) % 2 === 0)
            );
            try {
              expectSameState(actual, await faultFreeState(effective.map((entry) => entry.delivery)));
              return;
            } catch (error) {
              mismatch ??= error;
            }
          }
          throw mismatch;
        }),
        fcParams(RUNS.faults, name)
      );
    },
    PROPERTY_TIMEOUT_MS
  );
});

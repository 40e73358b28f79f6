// Bugs the properties found that are not fixed yet (issue 6), pinned as expected failures. The
// properties leave these cases out, so they stay green; each test here fails the day its bug is fixed,
// which is the cue to delete the `knownIssue` / `knownStreamIssues` entry in the bot's registration and
// let the property cover the case again.
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { BOTS } from './bots.ts';
import type { BotUnderTest, BusinessState } from './harness.ts';
import {
  businessState,
  deliverSample,
  expectSameState,
  fcParams,
  PROPERTY_TIMEOUT_MS,
  RUNS,
  sampleNamed,
  Store,
  withConsoleCaptured,
} from './harness.ts';
import { fieldInstances } from './mutations.ts';
import { wrongTypeProperty } from './refusal.ts';

/** The state after delivering the named samples one at a time, in the given order. */
async function stateAfter(bot: BotUnderTest, store: Store, names: readonly string[]): Promise<BusinessState> {
  const medplum = await store.reset();
  await withConsoleCaptured(async () => {
    for (const name of names) {
      const outcome = await deliverSample(bot, medplum, sampleNamed(bot, name), 'raw string');
      if (!outcome.ok) {
        throw outcome.error;
      }
    }
  });
  return businessState(medplum, bot);
}

describe.each(BOTS)('$name', (bot) => {
  const store = new Store(bot);
  const streamIssues = bot.knownStreamIssues ?? [];
  const fieldIssues = bot.readFields.filter((field) => field.knownIssue);

  test.runIf(streamIssues.length === 0 && fieldIssues.length === 0)(
    `${bot.name} has no known reliability issues`,
    () => undefined
  );

  for (const issue of streamIssues) {
    test.fails(`${bot.name} known issue (remove from the registration once fixed): ${issue.description}`, async () => {
      const inVendorOrder = bot.samples
        .map((sample) => sample.name)
        .filter((name) => issue.reproduction.includes(name));
      const expected = await stateAfter(bot, store, inVendorOrder);
      expectSameState(await stateAfter(bot, store, issue.reproduction), expected);
    });
  }

  for (const field of fieldIssues) {
    const events = [...new Set(fieldInstances(bot, [field]).map(({ sample }) => sample.replace(/\..*$/, '.*')))].join(
      ', '
    );
    const name =
      `${bot.name} known issue (remove from the registration once fixed): ` +
      `a wrong JSON type in ${field.path} of ${events} ${field.knownIssue}`;
    test.fails(
      name,
      async () => {
        await fc.assert(wrongTypeProperty(bot, store, [field]), fcParams(RUNS.knownIssue, name));
      },
      PROPERTY_TIMEOUT_MS
    );
  }
});

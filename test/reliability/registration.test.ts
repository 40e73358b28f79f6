// Checks each bot's registration, so a typo cannot make a property pass by checking nothing: the
// personal strings are in the samples, every read field exists in one, and the samples are accepted.
import { describe, expect, test } from 'vitest';
import { BOTS } from './bots.ts';
import {
  businessState,
  deliverSample,
  fhirWrites,
  INPUT_SHAPES,
  inOrderState,
  sampleNamed,
  Store,
  withConsoleCaptured,
} from './harness.ts';
import { fieldInstances } from './mutations.ts';

describe.each(BOTS)('$name', (bot) => {
  const store = new Store(bot);
  const bodies = [...bot.samples, ...bot.ignoredSamples].map((sample) => sample.body).join('\n');

  test(`${bot.name}'s personal strings and secrets are real: each occurs in a sample or the bot's secrets`, () => {
    expect(bot.personalStrings.filter((value) => !bodies.includes(value))).toEqual([]);
    expect(Object.values(bot.secrets).every((secret) => secret.length >= 16)).toBe(true);
  });

  test(`every field ${bot.name} registers as read occurs in one of its samples`, () => {
    expect(
      bot.readFields.filter((field) => fieldInstances(bot, [field]).length === 0).map((field) => field.path)
    ).toEqual([]);
  });

  test(`${bot.name}'s known stream issues name samples it has`, () => {
    const names = bot.samples.map((sample) => sample.name);
    const reproductions = (bot.knownStreamIssues ?? []).flatMap((issue) => issue.reproduction);
    expect(reproductions.filter((name) => !names.includes(name))).toEqual([]);
  });

  test.each(INPUT_SHAPES)(`${bot.name} accepts each sample, freshly signed, as a %s`, async (shape) => {
    await withConsoleCaptured(async () => {
      for (const sample of bot.samples) {
        const outcome = await deliverSample(bot, await store.reset(), sample, shape);
        expect(outcome, sample.name).toMatchObject({ ok: true });
      }
    });
  });

  test(`${bot.name} acknowledges its ignored samples without a FHIR request`, async () => {
    await withConsoleCaptured(async () => {
      for (const sample of bot.ignoredSamples) {
        const medplum = await store.reset();
        const outcome = await deliverSample(bot, medplum, sampleNamed(bot, sample.name), 'raw string');
        expect(outcome.ok && bot.isIgnored(outcome.value), sample.name).toBe(true);
        expect(fhirWrites(medplum.requests)).toEqual([]);
      }
    });
  });

  test(`${bot.name}'s in-order stream writes every registered type, each under its identifier`, async () => {
    const state = await inOrderState(bot);
    const types = new Set(Object.keys(state).map((key) => key.split(/[?/]/)[0]));
    expect([...types].sort()).toEqual([...bot.resourceTypes].sort());
    expect(Object.keys(state).filter((key) => key.endsWith('(no identifier)'))).toEqual([]);
    expect(await businessState(await store.reset(), bot)).toEqual({});
  });
});

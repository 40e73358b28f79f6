// What the benchmark needs to know about one bot: how to call it, what to compare it with, and a realistic
// stream of deliveries whose stored result it can check.
import type { BotEvent, MedplumClient } from '@medplum/core';
import type { MockClient } from '@medplum/mock';

export type BotHandler = (medplum: MedplumClient, event: BotEvent) => Promise<unknown>;

/** One loop body of the verification benchmark: checks one delivery, throws if it is refused. */
export interface VerifierCase {
  readonly label: string;
  readonly run: () => unknown;
}

export interface VerifierCases {
  /** The sample the verifiers check, named for the table. */
  readonly sample: string;
  /** The size of the signed body, when the signature covers one. */
  readonly sampleBytes?: number;
  /** Our verifier on the raw body, doing the same work as the vendor SDK's verifier. */
  readonly ours: VerifierCase;
  /** The vendor SDK's own verifier on the same delivery; absent when the vendor has none. */
  readonly sdk?: VerifierCase;
  /** Our verifier on the object Medplum's `$execute` parses the body into (re-serialisation cost). */
  readonly oursParsed?: VerifierCase;
}

export interface SdkComparison {
  /** The package and version, e.g. `stripe@23.2.0`. */
  readonly packageName: string;
  /**
   * A TypeScript entry module, resolved from the repository root, that exports a `handler` which verifies
   * with the SDK the way a hand-written bot does and then runs ours: the bot as it would be with the SDK.
   */
  readonly entry: string;
}

/** The deliveries for one vendor object set (a customer and its invoice, a user...), in delivery order. */
export interface ObjectSet {
  readonly events: readonly BotEvent[];
}

export interface Scenario {
  /** What one object set is, for the table: `customer`, `user`. */
  readonly setName: string;
  /** The event types of one object set, in delivery order, with redeliveries marked; for the README. */
  readonly description: string;
  /** Fresh vendor ids for set `index`, signed now: the store grows the way a real project's does. */
  deliveries(index: number): ObjectSet;
  /** What is wrong with the stored records of set `index` once all its deliveries are in; empty if right. */
  check(medplum: MockClient, index: number): Promise<string[]>;
}

export interface BenchProfile {
  /** The bot's name in medplum.config.json. */
  readonly source: string;
  readonly handler: BotHandler;
  /** The vendor SDK to compare with; absent when there is none (see `noSdkReason`). */
  readonly sdk?: SdkComparison;
  /** Why the SDK columns are n/a, for the table. */
  readonly noSdkReason?: string;
  verifiers(): VerifierCases;
  scenario(): Scenario;
}

// The bots the benchmark knows. Adding a bot: write scripts/bench/profiles/<source>.ts exporting a
// BenchProfile, and list it here.
import { oktaProfile } from './okta.ts';
import { stripeProfile } from './stripe.ts';
import type { BenchProfile } from './types.ts';

export type { BenchProfile } from './types.ts';

const PROFILES: readonly BenchProfile[] = [stripeProfile, oktaProfile];

export function findProfile(source: string): BenchProfile | undefined {
  return PROFILES.find((profile) => profile.source === source);
}

export function profileNames(): string[] {
  return PROFILES.map((profile) => profile.source);
}

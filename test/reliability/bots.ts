// Every bot the reliability properties run over. A new bot joins by adding its registration here.
import type { BotUnderTest } from './harness.ts';
import { oktaBot } from './okta.ts';
import { stripeBot } from './stripe.ts';

export const BOTS: readonly BotUnderTest[] = [stripeBot, oktaBot];

// What `send`, `demo` and the runner tests need to know about a vendor: how it signs and delivers a webhook.

/** One HTTP request as the vendor makes it. */
export interface Delivery {
  readonly method: 'POST' | 'GET';
  /** Header names as the vendor spells them; HTTP makes them case-insensitive. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact body text the vendor sends (and signs). Absent for GET. */
  readonly body?: string;
}

export interface SignInput {
  /** The sample payload, parsed from its fixture file. */
  readonly payload: unknown;
  /** Secret values by name (the vendor's signing secret, and any setting that shapes the request). */
  readonly secrets: Readonly<Record<string, string | undefined>>;
  /** The signing time, in seconds since the epoch; vendors sign a fresh timestamp. */
  readonly nowSeconds: number;
}

/** A request the vendor makes besides event deliveries, such as Okta's one-time verification GET. */
export interface Handshake {
  readonly name: string;
  /** What a correct answer means, for the demo's table. */
  readonly description: string;
  prepare(input: Omit<SignInput, 'payload'>): PreparedHandshake;
}

export interface PreparedHandshake {
  readonly delivery: Delivery;
  /** Returns what is wrong with the bot's answer, or undefined when the vendor would accept it. */
  check(status: number, body: string): string | undefined;
}

export interface Signer {
  /** The bot's name and its fixtures folder: test/fixtures/{source}/. */
  readonly source: string;
  readonly vendor: string;
  /** The secret the vendor signs with; `send --secret` overrides it and a tampered delivery breaks it. */
  readonly secretName: string;
  /** Fixed, public values for the demo and an unconfigured runner. Never real secrets. */
  readonly demoSecrets: Readonly<Record<string, string>>;
  /** Other bot secrets that change how the vendor's request looks (e.g. which header carries the secret). */
  readonly settingNames?: readonly string[];
  sign(input: SignInput): Delivery;
  /** When the vendor says the event happened (ms since the epoch): the demo sends samples in that order. */
  occurredAt?(payload: unknown): number | undefined;
  readonly handshakes?: readonly Handshake[];
}

/** Thrown when a sample cannot be signed; the message says what to fix. */
export class SigningError extends Error {}

/** Reads a required secret for signing, or says how to provide it. */
export function requireSecret(secrets: SignInput['secrets'], name: string): string {
  const value = secrets[name];
  if (!value) {
    throw new SigningError(`${name} is not set; pass --secret, or set ${name} in the environment or .env.`);
  }
  return value;
}

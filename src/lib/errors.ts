/**
 * The errors a webhook bot throws. Each becomes HTTP 400 at Medplum's `$execute` edge, which makes the
 * vendor retry the delivery later, so every message says the cause first and then what to do about it.
 * Messages never carry a secret, a signature or patient data: Medplum copies them into AuditEvents.
 */
export abstract class WebhookError extends Error {
  /** True when a later redelivery of the same request may succeed without anyone changing anything. */
  abstract readonly retryable: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request did not prove that it came from the vendor: bad, missing or stale signature. */
export class WebhookVerificationError extends WebhookError {
  readonly retryable = false;
}

/** The bot is not set up: a bot secret is missing or malformed. */
export class BotConfigurationError extends WebhookError {
  readonly retryable = false;
}

/** The request was authentic but its body is not a payload this bot can read. */
export class PayloadError extends WebhookError {
  readonly retryable = false;
}

/** Medplum refused or failed part of the write; the vendor's retry will try again. */
export class FhirWriteError extends WebhookError {
  readonly retryable = true;
}

// One error type for everything a person running deploy can fix: the message is the cause, `fix`
// says what to do about it. The run prints both; any other error is printed as it is.
import { normalizeErrorString } from '@medplum/core';

export class DeployError extends Error {
  /** What the person running deploy should do about it. */
  readonly fix: string;

  constructor(cause: string, fix: string, options?: ErrorOptions) {
    super(cause, options);
    this.name = 'DeployError';
    this.fix = fix;
  }
}

/** The lines to print for a failure: the cause, then the fix when we know one. */
export function describeFailure(err: unknown): string[] {
  if (err instanceof DeployError) {
    return [err.message, `fix: ${err.fix}`];
  }
  return [describeError(err)];
}

/**
 * A one-line description of an error from MedplumClient, fetch or node: the OperationOutcome's text
 * when Medplum answered, the network cause (ECONNREFUSED, ENOTFOUND, ...) when it did not.
 */
export function describeError(err: unknown): string {
  const text = normalizeErrorString(err);
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause && (cause.code || cause.message)) {
    return `${text} (${cause.code ?? cause.message})`;
  }
  return text;
}

/** Runs one call to Medplum; a failure becomes a DeployError that says what was being done. */
export async function callMedplum<T>(what: string, fix: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DeployError) {
      throw err;
    }
    throw new DeployError(`${what} failed: ${describeError(err)}`, fix, { cause: err });
  }
}

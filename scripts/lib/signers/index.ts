// The registry of vendor signers that `send`, `demo` and the runner tests share. Adding a vendor: write
// scripts/lib/signers/<source>.ts exporting a Signer, and list it here.
import type { Signer } from './signer.ts';
import { oktaSigner } from './okta.ts';
import { stripeSigner } from './stripe.ts';

export type { Delivery, Handshake, PreparedHandshake, SignInput, Signer } from './signer.ts';
export { SigningError } from './signer.ts';

const SIGNERS: readonly Signer[] = [stripeSigner, oktaSigner];

/** The signer for a source, or undefined when there is none yet. */
export function findSigner(source: string): Signer | undefined {
  return SIGNERS.find((signer) => signer.source === source);
}

/** Says clearly that a source cannot be signed yet, and what to do about it. */
export function missingSignerMessage(source: string): string {
  const known = SIGNERS.map((signer) => signer.source).join(', ');
  return (
    `No signer for "${source}" (signers exist for: ${known}); ` +
    `add scripts/lib/signers/${source}.ts and list it in scripts/lib/signers/index.ts.`
  );
}

/** Every signer's fixed demo secret values, by secret name. */
export function demoSecrets(): Record<string, string> {
  return Object.assign({}, ...SIGNERS.map((signer) => signer.demoSecrets));
}

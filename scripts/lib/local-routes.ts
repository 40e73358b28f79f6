// Where the local runner listens and the routes it serves, shared by the runner, `send` and `demo`.

/** Medplum's own port, so URLs look the same as against a local Medplum server. */
export const DEFAULT_PORT = 8103;
export const DEFAULT_HOST = '127.0.0.1';

/** Medplum's `$execute` route for a bot; locally a Bot's id is its name. */
export function executeUrl(baseUrl: string, botName: string): string {
  return `${baseUrl}/fhir/R4/Bot/${encodeURIComponent(botName)}/$execute`;
}

/** The public webhook route; on Medplum its last segment is the Bot's ProjectMembership id. */
export function webhookUrl(baseUrl: string, botName: string): string {
  return `${baseUrl}/webhook/${encodeURIComponent(botName)}`;
}

// Step 7: the project features the bots depend on. Deploy cannot switch them on (only a super admin
// can), so it says what is missing, what that costs, and who can fix it.
import type { StepResult } from '../report.ts';

const ENABLE = [
  'to enable: on hosted Medplum, ask Medplum support to enable it for the project;',
  'on a self-hosted server, a super admin adds it to the "features" of the Project resource.',
];

const NEEDED = [
  { feature: 'bots', cost: 'no bot runs: $deploy and every delivery fail' },
  {
    feature: 'transaction-bundles',
    cost: 'transactions are not atomic: a failed entry does not undo the others',
  },
] as const;

export function checkFeatures(features: readonly string[]): StepResult {
  const missing = NEEDED.filter(({ feature }) => !features.includes(feature));
  if (missing.length === 0) {
    const present = NEEDED.map(({ feature }) => feature).join(', ');
    return { outcome: 'unchanged', detail: `present: ${present}` };
  }
  return {
    outcome: 'warning',
    detail: `missing: ${missing.map(({ feature }) => feature).join(', ')}`,
    notes: [...missing.map(({ feature, cost }) => `"${feature}" is missing: ${cost}`), ...ENABLE],
  };
}

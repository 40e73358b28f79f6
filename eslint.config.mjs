import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What Medplum's VM-context bot runtime lacks: a bot that touches one fails with "X is not defined". */
const MISSING_IN_BOT_RUNTIME = [
  { name: 'Buffer', message: "Medplum's VM-context runtime has no global Buffer: import it from 'node:buffer'." },
  { name: 'process', message: "Medplum's VM-context runtime has no process." },
  { name: 'crypto', message: "Medplum's VM-context runtime has no global crypto: import from 'node:crypto'." },
  { name: 'setTimeout', message: "Medplum's VM-context runtime has no setTimeout." },
  { name: 'setInterval', message: "Medplum's VM-context runtime has no setInterval." },
  { name: 'structuredClone', message: "Medplum's VM-context runtime has no structuredClone." },
  { name: 'atob', message: "Medplum's VM-context runtime has no atob." },
  { name: 'btoa', message: "Medplum's VM-context runtime has no btoa." },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The bots and their shared toolkit run inside Medplum's bot runtime.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-globals': ['error', ...MISSING_IN_BOT_RUNTIME] },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['**/*.test.ts', 'test/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  }
);

// @ts-check
// ESLint 9 flat config. Type-aware typescript-eslint rules; Prettier owns formatting (eslint-config-prettier last).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

// Node built-ins that Temporal's workflow bundler allows (it polyfills them): see
// @temporalio/worker's `allowedBuiltinModules`. Everything else, and every `node:` import, is banned in workflows.
const WORKFLOW_ALLOWED_BUILTINS = new Set(['assert', 'url', 'util']);

export default defineConfig(
  globalIgnores(['**/node_modules/', '.vigil/', '.tools/', 'dist/', '.test-state/', 'test/histories/', '**/*.py']),

  {
    files: ['**/*.{ts,mts,cts,js,mjs,cjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'warn',
    },
    rules: {
      // Forgetting to await an Activity, a Workflow API or a client call is a real bug.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it/test return promises the runner itself tracks.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },

  // Plain JavaScript (this file, bench/driftWorker.mjs) is outside tsconfig.json: lint it without type information.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },

  // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no worker/client/activity runtime,
  // and activities/adapters only as types (`import type`).
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules
            .filter((m) => !m.startsWith('_') && !WORKFLOW_ALLOWED_BUILTINS.has(m))
            .map((name) => ({ name, message: 'Workflows run in the Temporal sandbox: do this in an Activity.' })),
          patterns: [{ group: ['node:*'], message: 'Workflows run in the Temporal sandbox: do this in an Activity.' }],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@temporalio/activity',
                '@temporalio/activity/*',
                '@temporalio/client',
                '@temporalio/client/*',
                '@temporalio/worker',
                '@temporalio/worker/*',
                '@temporalio/testing',
                '@temporalio/testing/*',
                '@temporalio/common/lib/internal-non-workflow',
                '@temporalio/common/lib/internal-non-workflow/*',
              ],
              allowTypeImports: true,
              message: 'Not available in the workflow sandbox: use `import type`, or @temporalio/workflow.',
            },
            {
              regex: '^(\\.\\./)+(activities|adapters)(/|$)',
              allowTypeImports: true,
              message: 'Workflows may only `import type` from activities/ and adapters/ (call activities through proxyActivities).',
            },
          ],
        },
      ],
    },
  },

  prettier,
);

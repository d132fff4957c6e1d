// ESLint for opsflow: the recommended rules of ESLint and typescript-eslint, with the few choices
// below. Formatting is Prettier's (npm run format), not ESLint's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const nodeCommonJsGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  URL: 'readonly',
  fetch: 'readonly',
  WebSocket: 'readonly',
};

export default defineConfig(
  { ignores: ['dist/', 'coverage/', '.tools/', '.data/', '.artifacts/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore says "deliberately unused": a parameter a signature requires, or a
      // field taken out of an object so that the rest can be passed on.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Plain CommonJS for Node: jest's config, its reporter, a fixture service.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: nodeCommonJsGlobals },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The CLI's messages replace the SDK's words with the operator's ("no workflow with id X"), and
    // its error printer walks causes: a kept cause would repeat the SDK's words after them.
    files: ['src/client/**/*.ts'],
    rules: { 'preserve-caught-error': 'off' },
  },
  {
    // Tests feed malformed input on purpose (`as any`), load modules lazily inside a test, and
    // rethrow a failure with what was being waited for rather than the cause's stack.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      'preserve-caught-error': 'off',
    },
  },
);

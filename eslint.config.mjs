import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'nodes/', 'node_modules/', '.node-red/', 'coverage/', 'src/**/*.html'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Node-RED constructors keep `this` as `node` for the callbacks they register.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  {
    files: ['resources/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, $: 'readonly', RED: 'readonly' } },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Browser tests: the functions handed to page.evaluate() run in the editor's page.
    files: ['test/browser/**/*.js'],
    languageOptions: { globals: { ...globals.browser, $: 'readonly', RED: 'readonly' } },
  },
);

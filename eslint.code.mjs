/**
 * Lint rules for the code around the community package: the proxy, dev mode, the tests, the
 * bench and the scripts. The community package itself (nodes/, credentials/, package.json)
 * is linted by n8n's own config, the root eslint.config.mjs, which `n8n-node lint` requires
 * unchanged.
 *
 * ESLint looks a file's config up from the file's own folder (the config-lookup-from-file
 * behaviour, default in ESLint 10, switched on by `npm run lint`), so proxy/, dev/, test/,
 * bench/ and scripts/ each have an eslint.config.mjs that calls one of these.
 *
 * TypeScript is linted with typescript-eslint's type-checked rules (floating and misused
 * promises among them) against tsconfig.test.json, which covers every workspace, and import
 * cycles are errors.
 */
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import { globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

const typeChecked = {
  files: ['**/*.ts'],
  extends: [tseslint.configs.recommendedTypeChecked],
  languageOptions: {
    parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: root },
  },
  plugins: { 'import-x': importX },
  settings: {
    // The cycle check must parse the imported TypeScript files too, and resolve them as tsc does.
    'import-x/extensions': ['.ts', '.js', '.mjs'],
    'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${root}/tsconfig.test.json` })],
  },
  rules: {
    'import-x/no-cycle': 'error',
    // `_name` marks a parameter or binding kept for its position or its side effect.
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
  },
};

/** The proxy's and dev mode's sources: every type-checked rule, plus the folder's own rules. */
export function sourceConfig(...extra) {
  return tseslint.config(globalIgnores(['dist/']), typeChecked, ...extra);
}

/**
 * Which way dependencies may point inside proxy/src, so the folder tree stays true: the
 * contract's code table depends on nothing (the n8n node keeps a copy of it); config and
 * shared know nothing of what they configure; nothing that serves requests knows the
 * command line, the admin commands or dev mode; Vault and the secret cache know nothing of
 * HTTP forwarding.
 */
export function proxyLayers(proxyDir) {
  const serving = ['app', 'auth', 'config', 'contract', 'forward', 'listener', 'observability', 'secrets', 'shared', 'vault'];
  return {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: proxyDir,
          zones: [
            { target: './src/contract/contract.ts', from: './src', except: ['./contract/contract.ts'], message: 'The contract module is dependency-free.' },
            { target: './src/shared', from: './src', except: ['./shared'], message: 'shared/ holds helpers that depend on nothing else.' },
            { target: './src/config', from: './src', except: ['./config', './shared'], message: 'Config depends on nothing it configures.' },
            ...serving.map((folder) => ({
              target: `./src/${folder}`,
              from: ['./src/admin', './src/cli', './src/cli.ts'],
              message: 'The serving code knows nothing of the command line, admin commands or dev mode.',
            })),
            {
              target: ['./src/vault', './src/secrets'],
              from: ['./src/forward', './src/listener', './src/app'],
              message: 'Vault and the secret cache know nothing of HTTP forwarding.',
            },
          ],
        },
      ],
    },
  };
}

/**
 * Tests and the bench: the same rules, except the ones about `any` values (response bodies
 * and parsed JSON are `any` in supertest and JSON.parse, and a test reads their fields
 * directly on purpose: its expectations are the type check) and two that fakes and jest
 * matchers break by design.
 */
export function testConfig() {
  return tseslint.config(typeChecked, {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Fakes implement async interfaces without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // `expect(fake.method).toHaveBeenCalled()` reads a method without calling it, on purpose.
      '@typescript-eslint/unbound-method': 'off',
      // Some tests load built CommonJS files (dist/, n8n's own modules) by path, as n8n does.
      '@typescript-eslint/no-require-imports': 'off',
    },
  });
}

/** Plain JavaScript tooling (scripts/*.mjs). */
export function scriptConfig() {
  return [{ files: ['**/*.{js,mjs,cjs}'], ...js.configs.recommended, languageOptions: { globals: { ...globals.node } } }];
}

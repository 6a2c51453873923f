// ESLint: typescript-eslint's strict, type-checked rules over src, test, bench and scripts; Prettier
// owns the formatting (eslint-config-prettier turns the rules it covers off). The few rules switched
// off or relaxed below are ones the code deliberately does otherwise, each with its reason.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['src/**/*.mjs', 'dist/', 'node_modules/', 'coverage/', 'dashboard/', 'bench/results/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers and booleans in template strings are what we mean; objects and null are not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `x!` marks an invariant the type system cannot see (a key just set, a regex group that
      // matched); the code keeps them rare and next to the reason.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => reply.send(x)` style arrow shorthands are idiomatic with Fastify.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Kysely's row types describe SQLite; node-postgres returns bigint and numeric columns as strings,
      // so `Number(row.count)` on a value typed `number` is the conversion that makes both stores agree.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Values typed non-null still arrive from JSON bodies, SMTP peers and rows of older migrations;
      // the defensive `?.` and `??` at those edges are kept on purpose.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Interfaces with async methods (transports, stores, Liquid's file system) have synchronous
      // implementations; `async` keeps their contract (a rejected promise, never a throw).
      '@typescript-eslint/require-await': 'off',
      // Names starting with `_` are deliberately unused (a field dropped from a rest spread, an argument
      // an interface passes).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Validators of headers, names and CSV cells look for control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Kysely migrations run against the schema of their time, not today's types: `Kysely<any>` is the
    // form Kysely documents for them.
    files: ['src/store/migration*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Tests poke at untyped JSON bodies; `any` there is the honest type of a response.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  prettier,
  { rules: { 'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }] } },
);

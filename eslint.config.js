// ESLint: typescript-eslint's strict, type-checked rules over src, test, bench and scripts; Prettier
// owns the formatting (eslint-config-prettier turns the rules it covers off). The few rules switched
// off or relaxed below are ones the code deliberately does otherwise, each with its reason.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'dashboard/', 'bench/results/', 'data/'] },
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

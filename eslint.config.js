// Lint: the rule that matters most here is no-floating-promises — a dropped
// promise on the commit path is a lost error and a broken exactly-once claim.
// no-restricted-imports enforces the dependency arrows of docs/architecture.md:
//   examples, chaos, bench → testkit → dsl → framework, stores
// kafkajs only in framework/client/kafkajs/; runtime internals only from
// framework/, testkit/, the CLI and tests; examples only through entries.
import tseslint from 'typescript-eslint';

const KAFKAJS = {
  name: 'kafkajs',
  message:
    'Only framework/client/kafkajs/ may import kafkajs (docs/architecture.md, "Client boundary"); use the client adapter (framework/client/index.ts).',
};
const KAFKAJS_DEEP = {
  group: ['kafkajs/*'],
  message: 'Only framework/client/kafkajs/ may import kafkajs internals.',
};
const RUNTIME_INTERNALS = {
  regex: '(^|/)framework/(runtime|client/kafkajs)/',
  message:
    'Runtime internals are for framework/, testkit/, the CLI and tests; use the public entries (framework/index.ts, testkit/index.ts, ...).',
};
const upward = (areas, why) => ({
  regex: `(^|/)(${areas.join('|')})/`,
  message: `Dependencies point one way (docs/architecture.md, "Areas"): ${why}`,
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.tap/**', 'coverage/**', 'dist/**', '.prof/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { paths: [KAFKAJS], patterns: [KAFKAJS_DEEP] }],
    },
  },
  {
    // tap queues and awaits every t.test() itself; the promise it returns is
    // informational, so a bare t.test(...) is not a lost error.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    // The kafkajs backend, and the tests of it, use kafkajs itself.
    files: ['framework/client/kafkajs/**/*.ts', 'test/framework/client/kafkajs/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['framework/**/*.ts'],
    ignores: ['framework/client/kafkajs/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [KAFKAJS],
          patterns: [
            KAFKAJS_DEEP,
            upward(
              ['stores', 'dsl', 'testkit', 'chaos', 'examples', 'bench'],
              'framework depends on nothing else of streamtx.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['stores/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [KAFKAJS],
          patterns: [
            KAFKAJS_DEEP,
            RUNTIME_INTERNALS,
            upward(
              ['dsl', 'testkit', 'chaos', 'examples', 'bench'],
              "stores depend on framework's small interfaces only.",
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['dsl/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [KAFKAJS],
          patterns: [
            KAFKAJS_DEEP,
            RUNTIME_INTERNALS,
            upward(
              ['testkit', 'chaos', 'examples', 'bench'],
              'the DSL builds a Topology and adds no runtime.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['testkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [KAFKAJS],
          patterns: [
            KAFKAJS_DEEP,
            upward(['chaos', 'examples', 'bench'], 'testkit is below chaos, examples and bench.'),
          ],
        },
      ],
    },
  },
  {
    files: ['chaos/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [KAFKAJS], patterns: [KAFKAJS_DEEP, RUNTIME_INTERNALS] },
      ],
    },
  },
  {
    files: ['examples/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [KAFKAJS],
          patterns: [
            KAFKAJS_DEEP,
            {
              // An area's entry (<area>/index.ts) or the package root, nothing inside an area.
              regex: '^(\\.\\./)+(framework|stores|dsl|testkit|chaos)/(?!index\\.ts$)',
              message:
                'Examples use the public entries only (index.ts of an area, or the package root).',
            },
          ],
        },
      ],
    },
  },
);

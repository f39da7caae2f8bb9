// Lint rules. Besides the recommended sets, the import restrictions keep the architecture honest:
// core is pure (no node:*, no SDKs), ports are types over core, and only adapters touch SDKs and processes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sdkAndNode = [
  'node:*',
  'etcd3',
  'cockatiel',
  'hono',
  'hono/*',
  '@hono/*',
  'pino',
  'yaml',
  '@aws-sdk/*',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.runs/**', 'dist/**', 'dist.tmp-*/**', 'dist.old-*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']",
          message: 'Only src/cli/main.ts may call process.exit; throw an ExitError instead.',
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: sdkAndNode, message: 'src/core is pure: no Node built-ins, SDKs or I/O.' },
            { group: ['../*'], message: 'src/core imports only src/core.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'core takes `now` as a parameter.' },
        { object: 'Math', property: 'random', message: 'core takes randomness as input.' },
      ],
    },
  },
  {
    files: ['src/ports/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: sdkAndNode.filter((p) => p !== 'node:*'), message: 'ports carry no SDK types.' },
            {
              group: ['../adapters/*', '../agent/*', '../cli/*', '../emulator/*', '../sim/*'],
              message: 'ports depend only on core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/agent/**/*.ts',
      'src/adapters/**/*.ts',
      'src/config/**/*.ts',
      'src/core/**/*.ts',
      'src/ports/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../emulator/*', '../../emulator/*', '../sim/*', '../../sim/*'],
              message: 'product code never depends on the emulator or the simulator.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/main.ts', 'scripts/**', 'bench/**', 'bin/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);

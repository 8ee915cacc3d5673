// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/**
 * Import direction: errors ← protocol ← network ← producer ← nest ← apps.
 * Each layer may import only from the layers to its left; test helpers (libs/kafka-testing) sit outside
 * the product and the product never imports them.
 */
const SRC = 'libs/kafka-producer/src';
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const noTesting = { group: ['@app/kafka-testing', '@app/kafka-testing/*', '**/kafka-testing/**'], message: 'the product never depends on test helpers' };
const noAlias = { group: ['@app/kafka-producer', '@app/kafka-producer/*'], message: 'inside the library, import by relative path' };
const above = (layers) => ({
  group: layers.flatMap((l) => [`../${l}`, `../${l}/*`, `../../${l}`, `../../${l}/*`, `../../../${l}/*`, `../../../${l}`]),
  message: 'import direction is errors <- protocol <- network <- producer <- nest <- apps',
});
const peers = {
  group: ['kafkajs', '@platformatic/kafka', 'node-rdkafka', '@confluentinc/kafka-javascript', 'kafka-node'],
  message: 'no Kafka client library inside the product',
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.generated.ts', '.kafka/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' }, languageOptions: { globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } } },
  { files: [`${SRC}/errors/**/*.ts`], rules: restrict([noTesting, noAlias, peers, above(['protocol', 'network', 'producer', 'nest'])]) },
  { files: [`${SRC}/protocol/**/*.ts`], rules: restrict([noTesting, noAlias, peers, above(['network', 'producer', 'nest']), { group: ['net', 'node:net', 'tls', 'node:tls', '@nestjs/*'], message: 'protocol is pure: bytes in, bytes out' }]) },
  { files: [`${SRC}/network/**/*.ts`], rules: restrict([noTesting, noAlias, peers, above(['producer', 'nest']), { group: ['@nestjs/*'], message: 'network knows nothing of Nest' }]) },
  { files: [`${SRC}/producer/**/*.ts`], rules: restrict([noTesting, noAlias, peers, above(['nest']), { group: ['@nestjs/*'], message: 'the producer knows nothing of Nest' }]) },
  {
    files: [`${SRC}/nest/**/*.ts`],
    rules: restrict([noTesting, noAlias, peers, { group: ['../protocol', '../protocol/*', '../network', '../network/*', '../../protocol/*', '../../network/*', '../producer/*/**', '../../producer/*/**'], message: 'the Nest layer uses only the public producer API (../producer)' }]),
  },
  {
    files: ['apps/**/*.ts'],
    rules: restrict([noTesting, peers, { group: ['@app/kafka-producer/protocol', '@app/kafka-producer/protocol/*', '@app/kafka-producer/network', '@app/kafka-producer/network/*', '@app/kafka-producer/producer/*', '**/libs/**'], message: 'apps use only the public API: @app/kafka-producer and @app/kafka-producer/nest' }]),
  },
  { files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'libs/kafka-testing/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
);

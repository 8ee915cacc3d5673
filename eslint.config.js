// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/**
 * Import direction: errors ← protocol ← network ← producer ← nest ← apps.
 * Each layer may import only from the layers to its left; test helpers (libs/kafka-testing) sit outside
 * the product and the product never imports them.
 */
const SRC = 'libs/kafka-producer/src';
// layers: errors <- protocol <- network <- producer (libs/kafka-producer) <- nest (libs/nestjs-kafka-producer) <- apps
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const noTesting = { group: ['@app/kafka-testing', '@app/kafka-testing/*', '**/kafka-testing/**'], message: 'the product never depends on test helpers' };
const noAlias = { group: ['@app/kafka-producer', '@app/kafka-producer/*'], message: 'inside the library, import by relative path' };
const above = (layers) => ({
  group: layers.flatMap((l) => [`../${l}`, `../${l}/*`, `../../${l}`, `../../${l}/*`, `../../../${l}/*`, `../../../${l}`]),
  message: 'import direction is errors <- protocol <- network <- producer <- nest <- apps',
});
const noNest = { group: ['@app/nestjs-kafka-producer', '@app/nestjs-kafka-producer/*', '**/nestjs-kafka-producer/**'], message: 'the producer knows nothing of the Nest layer above it' };
const peers = {
  group: ['kafkajs', '@platformatic/kafka', 'node-rdkafka', '@confluentinc/kafka-javascript', 'kafka-node'],
  message: 'no Kafka client library inside the product',
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.generated.ts', '.kafka/**', '.bench-build/**', '.node24/**', 'bench/peers/node_modules/**', 'test/nest12/node_modules/**'] },
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
  { files: [`${SRC}/errors/**/*.ts`], rules: restrict([noTesting, noAlias, noNest, peers, above(['protocol', 'network', 'producer', 'nest'])]) },
  { files: [`${SRC}/protocol/**/*.ts`], rules: restrict([noTesting, noAlias, noNest, peers, above(['network', 'producer', 'nest']), { group: ['net', 'node:net', 'tls', 'node:tls', '@nestjs/*'], message: 'protocol is pure: bytes in, bytes out' }]) },
  { files: [`${SRC}/network/**/*.ts`], rules: restrict([noTesting, noAlias, noNest, peers, above(['producer', 'nest']), { group: ['@nestjs/*'], message: 'network knows nothing of Nest' }]) },
  { files: [`${SRC}/producer/**/*.ts`], rules: restrict([noTesting, noAlias, noNest, peers, above(['nest']), { group: ['@nestjs/*'], message: 'the producer knows nothing of Nest' }]) },
  {
    // the Nest layer uses only the producer's public entry point: no deep imports, no relative paths into it
    files: ['libs/nestjs-kafka-producer/**/*.ts'],
    rules: restrict([
      noTesting,
      peers,
      { group: ['@app/kafka-producer/*', '**/kafka-producer/src', '**/kafka-producer/src/**', '../../kafka-producer', '../../kafka-producer/**'], message: 'the Nest layer uses only the public producer API: import from @app/kafka-producer' },
      { group: ['@app/nestjs-kafka-producer', '@app/nestjs-kafka-producer/*'], message: 'inside the library, import by relative path' },
    ]),
  },
  {
    files: ['apps/**/*.ts'],
    rules: restrict([noTesting, peers, { group: ['@app/kafka-producer/*', '**/libs/**', '@app/nestjs-kafka-producer/*/**'], message: 'apps use only the public entry points: @app/kafka-producer, @app/nestjs-kafka-producer and its entry points (/microservices, /health, /testing)' }]),
  },
  {
    // the benchmark's peer drivers: plain Node scripts (CommonJS and ESM) that load the peer clients
    files: ['bench/peers/**/*.js', 'bench/peers/**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: { Buffer: 'readonly', process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', __dirname: 'readonly', __filename: 'readonly', require: 'readonly', module: 'writable', exports: 'writable', URL: 'readonly', performance: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'libs/kafka-testing/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
);

/**
 * End-to-end tests: each file talks to a real Kafka cluster (see libs/kafka-testing).
 * Files run one after another: the machine has two cores and every cluster is one to three JVMs.
 */
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  // Every failure again at the very end of the run (the default repeats them only past 20 suites), so a
  // log that keeps only its tail still says what failed.
  reporters: [['default', { summaryThreshold: 0 }]],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: {
    '^@app/kafka-producer(|/.*)$': '<rootDir>/libs/kafka-producer/src$1',
    '^@app/nestjs-kafka-producer(|/.*)$': '<rootDir>/libs/nestjs-kafka-producer/src$1',
    '^@app/kafka-testing(|/.*)$': '<rootDir>/libs/kafka-testing/src$1',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 180000,
};

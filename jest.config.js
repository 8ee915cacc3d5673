/** Unit tests: pure, no broker. Type checking is done once by `npm run typecheck`. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/bench'],
  testRegex: '.*\\.spec\\.ts$',
  // Every failure again at the very end of the run (the default repeats them only past 20 suites), so a
  // log that keeps only its tail still says what failed.
  reporters: [['default', { summaryThreshold: 0 }]],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: {
    '^@app/kafka-producer(|/.*)$': '<rootDir>/libs/kafka-producer/src$1',
    '^@app/nestjs-kafka-producer(|/.*)$': '<rootDir>/libs/nestjs-kafka-producer/src$1',
    '^@app/kafka-testing(|/.*)$': '<rootDir>/libs/kafka-testing/src$1',
  },
};

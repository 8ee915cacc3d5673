/** Unit tests: pure, no broker. Type checking is done once by `npm run typecheck`. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/bench'],
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: {
    '^@app/kafka-producer(|/.*)$': '<rootDir>/libs/kafka-producer/src$1',
    '^@app/nestjs-kafka-producer(|/.*)$': '<rootDir>/libs/nestjs-kafka-producer/src$1',
    '^@app/kafka-testing(|/.*)$': '<rootDir>/libs/kafka-testing/src$1',
  },
};

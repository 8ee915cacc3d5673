/**
 * Jest 30 for the Nest 12 suite, run by scripts/test-nest12.ts with Node 24 and --experimental-vm-modules
 * (what lets Jest's CommonJS runtime require() the ESM-only Nest 12, as our CommonJS packages do).
 * The specs are .cts: CommonJS whatever the folder, and outside the root tsconfig's test/**\/*.ts, which
 * resolves against the workspace's Nest 11 and has no installed tarballs to find.
 */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testRegex: 'specs/.*\\.spec\\.cts$',
  moduleFileExtensions: ['cts', 'ts', 'js', 'cjs', 'mjs', 'json'],
  // relative imports name the emitted .cjs, as nodenext wants; Jest loads the .cts source
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.cjs$': '$1' },
  // type errors are caught by the runner's tsc step against the installed declarations
  transform: { '^.+\\.cts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testTimeout: 60_000,
};

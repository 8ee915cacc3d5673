/**
 * The reliability matrix (issue #10): each file starts the cluster it needs and writes its figures
 * (test/reliability/support/rows.ts). Run through test/reliability/run.ts (`npm run test:reliability`,
 * `npm run test:reliability:ci`), which renders the report from what the files wrote.
 */
const e2e = require('./jest-e2e.config.js');

module.exports = {
  ...e2e,
  roots: ['<rootDir>/test/reliability'],
  testRegex: '.*\\.reliability-spec\\.ts$',
  globalSetup: undefined,
  globalTeardown: undefined,
  // A full-scale scenario runs for minutes; each sets tighter bounds of its own where it can.
  testTimeout: 45 * 60 * 1000,
};

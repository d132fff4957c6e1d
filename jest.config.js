/**
 * One jest run for every tier. Suites start real servers (Temporal, HAProxy, nginx, ...), so they
 * run one file at a time: two cores are not enough for several Temporal servers at once, and
 * in-band runs keep one Temporal Runtime per process (see DESIGN.md's jest pitfalls).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  maxWorkers: 1,
  testTimeout: 120_000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};

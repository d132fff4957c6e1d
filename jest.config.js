/**
 * One jest run for every tier, two files at a time. Suites start real servers (Temporal, HAProxy,
 * nginx, ...) and mostly wait on them, so a second file uses the time one file spends waiting:
 * the whole suite took 935 s one file at a time and 591 s two at a time on this 2-core machine.
 * Each jest worker is its own process with its own Temporal Runtime, running its files one after
 * another (DESIGN.md's jest pitfalls); files never share state: scratch schemas and databases
 * (PgScratch), random service names and Redis keys, servers on ports picked free with a retry on
 * a clash, their own Temporal server each.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  maxWorkers: 2,
  // A deadline for a hung test, not a speed check: with both cores busy (README's loaded run) an
  // e2e test takes several times as long as on an idle machine.
  testTimeout: 300_000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};

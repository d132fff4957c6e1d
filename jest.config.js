/**
 * One jest run for every tier, three files at a time. Suites start real servers (Temporal, HAProxy,
 * nginx, ...) and mostly wait on them (windows, timers, heartbeat timeouts after a SIGKILL), so a
 * third file on the 2-core machine uses the time the others spend waiting: the whole suite took
 * 795 s three at a time, idle (1 103 tests, 2026-12-08); the last whole run two at a time, on a smaller suite, took 1 370 s.
 * OPSFLOW_JEST_WORKERS overrides the count (1 to debug a file's interplay, 2 on a slower machine).
 * Each jest worker is its own process with its own Temporal Runtime (a Runtime is process-wide),
 * running its files one after another; files never share state: scratch schemas and databases
 * (PgScratch), random service names and Redis keys, servers on ports picked free with a retry on
 * a clash, their own Temporal server each.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    // jose ships ES modules only: jest's CommonJS runtime needs them compiled (node itself loads
    // them through require(esm), so only the tests need this).
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  maxWorkers: Number(process.env.OPSFLOW_JEST_WORKERS ?? 3),
  // A deadline for a hung test, not a speed check: with both cores busy (README's loaded run) an
  // e2e test takes several times as long as on an idle machine.
  testTimeout: 300_000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};

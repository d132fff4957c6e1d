/**
 * One jest run for every tier, three files at a time. Suites start real servers (Temporal, HAProxy,
 * nginx, ...) and mostly wait on them (windows, timers, heartbeat timeouts after a SIGKILL), so
 * more files than cores use the time the others spend waiting: the same tree ran 3 846 s of file
 * time in 1 934 s two at a time with the machine at load 14, barely slower per file than idle.
 * OPSFLOW_JEST_WORKERS overrides the count (1 to debug a file's interplay, 2 on a slower machine).
 * Each jest worker is its own process with its own Temporal Runtime, running its files one after
 * another (a Runtime is process-wide, so files never share one); files never share state: scratch schemas and databases
 * (PgScratch), random service names and Redis keys, servers on ports picked free with a retry on
 * a clash, their own Temporal server each.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  maxWorkers: Number(process.env.OPSFLOW_JEST_WORKERS ?? 3),
  // A deadline for a hung test, not a speed check: with both cores busy (README's loaded run) an
  // e2e test takes several times as long as on an idle machine.
  testTimeout: 300_000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};

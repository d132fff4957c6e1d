// Why: the deploy's workflow-tier tests run its orchestration against hosts that answer at once; each
// test changes only the step it is about (a build that waits, a drain that sticks), so the rest of the
// stand-in fleet is written once here.

/** Activities of a fleet of `hosts` where every step succeeds at once; `overrides` replace single steps. */
export function standInFleet(hosts: string[], overrides: Record<string, (...args: never[]) => Promise<unknown>> = {}) {
  return {
    deployFleet: async () => ({ names: hosts, hasMigrate: false }),
    resolveDeployRef: async () => ({ commit: 'a'.repeat(40) }),
    readHostReleases: async () => ({ current: 'old', releases: [] }),
    buildHostRelease: async (s: { release: string }) => ({ release: s.release, built: true }),
    drainHost: async () => ({ server: 'x' }),
    confirmHostDrained: async () => ({ drained: true, sessions: 0 }),
    switchHostCurrent: async () => ({ previous: 'old' }),
    restartHostUnits: async () => ({ units: ['app'] }),
    reloadHostNginx: async () => ({ reloaded: true }),
    checkHostHealth: async () => ({ healthy: true, attempts: 1, last: '200' }),
    markHostRelease: async () => undefined,
    readyHost: async () => ({ server: 'x' }),
    pruneHostReleases: async () => ({ removed: [] }),
    notify: async () => undefined,
    ...overrides,
  };
}

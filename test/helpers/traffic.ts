import { request } from 'undici';

/**
 * A traffic generator: `concurrency` loops sending GETs (fresh connections) to `url` until
 * stopped; counts answers by the `version` in the body, failures (no answer or not 200) and
 * answers slower than a second (HAProxy's connect retries can hide a stopped server that way).
 */
export function startTraffic(url: string, concurrency = 4) {
  let running = true;
  const stats = {
    ok: 0,
    failed: 0,
    versions: {} as Record<string, number>,
    errors: [] as string[],
    maxMs: 0,
    slowerThan1s: 0,
  };
  const loop = async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await request(url, {
          headers: { connection: 'close' },
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 100)}`);
        const v = (JSON.parse(text) as { version?: string }).version ?? '?';
        stats.versions[v] = (stats.versions[v] ?? 0) + 1;
        stats.ok++;
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 20) stats.errors.push((err as Error).message);
      }
      const ms = performance.now() - t0;
      stats.maxMs = Math.max(stats.maxMs, ms);
      if (ms > 1000) stats.slowerThan1s++;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

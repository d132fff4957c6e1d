import { request } from 'undici';
import type { PrometheusSourceConfig } from '../../../config/sections/metric-sources';
import { resolveOptionalSecret } from '../../../config/secrets';
import type { Evidence } from '../../../domain/readiness/evidence';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Prometheus's JSON, read by the fields each endpoint answers
async function api(name: string, cfg: PrometheusSourceConfig, path: string): Promise<any> {
  const token = resolveOptionalSecret(cfg.token, `metricSources.${name}.token`);
  const res = await request(new URL(path, cfg.url), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(cfg.timeoutMs),
  });
  const body = (await res.body.json()) as { status?: string; data?: unknown } | null;
  if (res.statusCode !== 200 || body?.status !== 'success')
    throw new Error(`Prometheus ${path}: HTTP ${res.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
  return body.data;
}

/** Every active target of each job is up (a job with no targets fails), and each alert rule is loaded. */
export async function checkPrometheus(
  name: string,
  cfg: PrometheusSourceConfig,
  jobs: string[],
  rules: string[],
  now = new Date(),
): Promise<Evidence[]> {
  const at = now.toISOString();
  const out: Evidence[] = [];
  if (jobs.length) {
    const targets: { labels: { job: string; instance: string }; health: string; lastError?: string }[] = (
      await api(name, cfg, '/api/v1/targets?state=active')
    ).activeTargets;
    for (const job of jobs) {
      const mine = targets.filter((t) => t.labels.job === job);
      const down = mine.filter((t) => t.health !== 'up');
      out.push({
        what: `targets of job ${job}`,
        value:
          mine.length === 0
            ? 'no targets'
            : `${mine.length - down.length}/${mine.length} up` +
              (down.length
                ? `; down: ${down.map((t) => `${t.labels.instance} (${t.health}${t.lastError ? `: ${t.lastError}` : ''})`).join(', ')}`
                : ''),
        threshold: 'all up',
        target: cfg.url,
        at,
        ok: mine.length > 0 && down.length === 0,
      });
    }
  }
  if (rules.length) {
    const groups: { rules: { name: string; health?: string }[] }[] = (await api(name, cfg, '/api/v1/rules?type=alert'))
      .groups;
    const loaded = new Map(groups.flatMap((g) => g.rules.map((r) => [r.name, r.health ?? 'unknown'] as const)));
    for (const rule of rules) {
      const health = loaded.get(rule);
      out.push({
        what: `alert rule ${rule}`,
        value: health ? `loaded (${health})` : 'not loaded',
        threshold: 'loaded',
        target: cfg.url,
        at,
        ok: health !== undefined && health !== 'err',
      });
    }
  }
  return out;
}

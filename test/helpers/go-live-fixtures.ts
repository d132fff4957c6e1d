import type { GoLiveInput } from '../../src/domain/go-live/input';
import { runbookInput } from './migration-fixtures';

/**
 * The go-live's part of a config: HAProxy `edge` (blue/green, backend `app`) through `runtimeApi`,
 * probed through `url`, and the readiness checklists its first stage uses: `shop` (both servers
 * known to HAProxy, the `app` database answering) and `blocked` (a server HAProxy does not have).
 */
export function goLiveConfig(runtimeApi: { socket: string } | { host: string; port: number }, url: string) {
  return {
    loadBalancers: { edge: { type: 'haproxy', runtimeApi, backend: 'app' } },
    metricSources: {
      'through-lb': { type: 'probe', url: `${url}/`, requests: 30, minRequests: 15, concurrency: 3, timeoutMs: 3000 },
    },
    readiness: {
      checklists: {
        shop: {
          items: [
            { id: 'lb', check: 'loadBalancer', lb: 'edge', servers: ['blue', 'green'] },
            { id: 'db', check: 'postgres', target: 'app' },
          ],
        },
        blocked: { items: [{ id: 'lb', check: 'loadBalancer', lb: 'edge', servers: ['purple'] }] },
      },
    },
  };
}

/** A go-live of `service`: checklist `shop`, the runbook's migration on `schema`'s tables, green to 50 % then 100 %. */
export function goLiveInput(service: string, schema: string, extra: Partial<GoLiveInput> = {}): GoLiveInput {
  return {
    service,
    stages: {
      readiness: { checklist: 'shop', deadline: '1m' },
      dataMigration: runbookInput(`golive-${service}`, schema, { chunkSize: 200 }),
      phasedRollout: {
        service,
        lb: 'edge',
        backends: { old: 'blue', new: 'green' },
        metricSources: ['through-lb'],
        gate: { errorRatePercent: 5 },
        sampleInterval: '1s',
        steps: [
          { weight: 50, window: '2s' },
          { weight: 100, window: '2s' },
        ],
      },
    },
    ...extra,
  };
}

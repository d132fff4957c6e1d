import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { Exporter, Prometheus } from '../helpers/prometheus';
import type { RolloutStatus } from '../../src/workflows/phased-rollout';

/**
 * The same workflow on another kind of LB and gate: the runbook's HTTP LB API (bearer token,
 * cohorts) gated by a real Prometheus scraping a local exporter. The workflow code is the one that
 * drives HAProxy; only the worker config differs.
 */
describe('phased rollout through the HTTP LB API, gated by a real Prometheus (dev server)', () => {
  const TOKEN = 'e2e-lb-token';
  let stack: Stack;
  let lb: LbApi;
  let exporter: Exporter;
  let prometheus: Prometheus;

  beforeAll(async () => {
    stack = await Stack.start();
    lb = await new LbApi(TOKEN).start();
    exporter = await new Exporter().start();
    exporter.traffic('checkout-api', 200, 0, 0.05);
    exporter.traffic('payments', 200, 0, 0.05);
    prometheus = await new Prometheus(stack.processes, [`127.0.0.1:${exporter.port}`]).start();
    process.env.OPSFLOW_E2E_LB_API_TOKEN = TOKEN;
    await stack.startWorker({
      loadBalancers: { 'lb-api': { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_E2E_LB_API_TOKEN' } } },
      metricSources: { prom: { type: 'prometheus', url: prometheus.url } },
    });
    await waitFor('Prometheus has rates for both services', async () => {
      const r = await prometheus.query('count(rate(http_requests_total[1m]) > 0)');
      return Number(r.data?.result?.[0]?.value?.[1]) >= 2 ? true : undefined; // the 200 series of both
    }, 60_000, 500);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await prometheus?.stop();
    await exporter?.stop();
    await lb?.stop();
    delete process.env.OPSFLOW_E2E_LB_API_TOKEN;
  });

  const input = (service: string, steps: unknown[]) => ({
    service,
    lb: 'lb-api',
    backends: { old: 'old_system', new: 'new_system' },
    metricSources: ['prom'],
    gate: { errorRatePercent: 5, responseTimeMs: 3000, p95Ms: 3000 },
    sampleInterval: '1s',
    steps,
  });

  test('internal users first, then 30 %, then 100 %; the old system drained; every call with the bearer token', async () => {
    lb.posts.length = 0;
    const result = await stack.client.workflow.execute('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-checkout-api',
      args: [input('checkout-api', [{ weight: 10, window: '2s', targetUsers: ['internal'] }, { weight: 30, window: '2s' }, { weight: 100, window: '2s' }])],
    });
    expect(result.outcome).toBe('succeeded');
    expect(lb.posts.map((p) => [p.path, p.body])).toEqual([
      ['/api/config', { traffic_split: { new_system: 10, old_system: 90 }, target_users: ['internal'] }],
      ['/api/config', { traffic_split: { new_system: 30, old_system: 70 } }],
      ['/api/config', { traffic_split: { new_system: 100, old_system: 0 } }],
      ['/api/servers/old_system/state', { state: 'drain' }],
    ]);
    expect(lb.posts.every((p) => p.auth === `Bearer ${TOKEN}`)).toBe(true);
    const s = await stack.client.workflow.getHandle('rollout-checkout-api').query<RolloutStatus>('status');
    const last = s.lastSamples.at(-1)!;
    expect(last.verdict).toBe('pass');
    expect(last.sample.readings.find((r) => r.metric === 'errorRatePercent')?.value).toBe(0);
  });

  test('5xx in Prometheus during step 2 rolls the API back to 100 % old', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-payments',
      args: [input('payments', [{ weight: 10, window: '2s' }, { weight: 30, window: '90s' }, { weight: 100, window: '2s' }])],
    });
    await waitFor('step 2 monitoring', async () => {
      const s = await handle.query<RolloutStatus>('status');
      return s.step === 2 && s.state === 'monitoring' ? true : undefined;
    }, 60_000);
    exporter.setErrorShare('payments', 1);
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(/rollout of payments rolled back at step 2\/3 \(30 %\): errorRatePercent [\d.]+ % > 5 % \(prom\)/);
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });
});

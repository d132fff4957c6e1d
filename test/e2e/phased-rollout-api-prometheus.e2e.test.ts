import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { waitFor } from '../helpers/ports';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { HttpReceiver } from '../helpers/http-receiver';
import { recordHistory } from '../helpers/histories';
import { OpsflowState } from '../../src/domain/search-attributes';
import { Exporter, Prometheus } from '../helpers/prometheus';
import { testToken } from '../helpers/tokens';
import { abortSignal, statusQuery } from '../../src/workflows/rollout/messages';
const STALE_TOKEN = testToken('no-longer-taken');

/**
 * The same workflow on another kind of LB and gate: the runbook's HTTP LB API (bearer token,
 * cohorts) gated by a real Prometheus scraping a local exporter. The workflow code is the one that
 * drives HAProxy; only the worker config differs.
 */
describe('phased rollout through the HTTP LB API, gated by a real Prometheus (dev server)', () => {
  const TOKEN = testToken('e2e-lb');
  let stack: Stack;
  let lb: LbApi;
  let exporter: Exporter;
  let prometheus: Prometheus;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    stack = await Stack.start();
    lb = await new LbApi(TOKEN).start();
    exporter = await new Exporter().start();
    exporter.traffic('checkout-api', 200, 0, 0.05);
    exporter.traffic('payments', 200, 0, 0.05);
    for (const service of ['inventory', 'catalog']) exporter.traffic(service, 200, 0, 0.05);
    prometheus = await new Prometheus(stack.processes, [`127.0.0.1:${exporter.port}`]).start();
    receiver = await new HttpReceiver({ honourKey: true }).start();
    process.env.OPSFLOW_E2E_LB_API_TOKEN = TOKEN;
    process.env.OPSFLOW_E2E_LB_API_TOKEN_STALE = STALE_TOKEN;
    await stack.startWorker({
      loadBalancers: {
        'lb-api': { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_E2E_LB_API_TOKEN' } },
        'lb-api-stale': {
          type: 'http-api',
          url: `http://127.0.0.1:${lb.port}`,
          token: { env: 'OPSFLOW_E2E_LB_API_TOKEN_STALE' },
        },
      },
      metricSources: { prom: { type: 'prometheus', url: prometheus.url } },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
    });
    await waitFor(
      'Prometheus has rates for every service',
      async () => {
        const r = await prometheus.query('count(rate(http_requests_total[1m]) > 0)');
        return Number(r.data?.result?.[0]?.value?.[1]) >= 4 ? true : undefined; // the 200 series of each
      },
      60_000,
      500,
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await prometheus?.stop();
    await exporter?.stop();
    await lb?.stop();
    await receiver?.stop();
    delete process.env.OPSFLOW_E2E_LB_API_TOKEN;
    delete process.env.OPSFLOW_E2E_LB_API_TOKEN_STALE;
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
      args: [
        input('checkout-api', [
          { weight: 10, window: '2s', targetUsers: ['internal'] },
          { weight: 30, window: '2s' },
          { weight: 100, window: '2s' },
        ]),
      ],
    });
    expect(result.outcome).toBe('succeeded');
    expect(lb.posts.map((p) => [p.path, p.body])).toEqual([
      ['/api/config', { traffic_split: { new_system: 10, old_system: 90 }, target_users: ['internal'] }],
      ['/api/config', { traffic_split: { new_system: 30, old_system: 70 } }],
      ['/api/config', { traffic_split: { new_system: 100, old_system: 0 } }],
      ['/api/servers/old_system/state', { state: 'drain' }],
    ]);
    expect(lb.posts.every((p) => p.auth === `Bearer ${TOKEN}`)).toBe(true);
    const s = await stack.client.workflow.getHandle('rollout-checkout-api').query(statusQuery);
    const last = s.lastSamples.at(-1)!;
    expect(last.verdict).toBe('pass');
    expect(last.sample.readings.find((r) => r.metric === 'errorRatePercent')?.value).toBe(0);
  });

  test('5xx in Prometheus during step 2 rolls the API back to 100 % old', async () => {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-payments',
      args: [
        input('payments', [
          { weight: 10, window: '2s' },
          { weight: 30, window: '90s' },
          { weight: 100, window: '2s' },
        ]),
      ],
    });
    await waitFor(
      'step 2 monitoring',
      async () => {
        const s = await handle.query(statusQuery);
        return s.step === 2 && s.state === 'monitoring' ? true : undefined;
      },
      60_000,
    );
    exporter.setErrorShare('payments', 1);
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /rollout of payments rolled back at step 2\/3 \(30 %\): errorRatePercent [\d.]+ % > 5 % \(prom\)/,
    );
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });

  /** Step 2 of a rollout whose step 2 window is long: the moment to break the LB and trigger a rollback. */
  async function atStep2(service: string) {
    const handle = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `rollout-${service}`,
      args: [
        {
          ...input(service, [
            { weight: 10, window: '1s' },
            { weight: 30, window: '10m' },
            { weight: 100, window: '1s' },
          ]),
          notify: ['ops'],
        },
      ],
    });
    await waitFor(
      `${service} step 2 monitoring`,
      async () => {
        const s = await handle.query(statusQuery);
        return s.step === 2 && s.state === 'monitoring' ? true : undefined;
      },
      60_000,
    );
    expect(lb.config.traffic_split).toEqual({ new_system: 30, old_system: 70 });
    return handle;
  }
  const messagesFor = (service: string) =>
    receiver.requests.filter((r) => r.json?.details?.service === service).map((r) => r.json);

  test('a token the API refuses (401) fails the rollout at planning, naming the LB and the 401: nothing moved', async () => {
    lb.posts.length = 0;
    const before = structuredClone(lb.config);
    const err = await stack.client.workflow
      .execute('phasedRolloutWorkflow', {
        taskQueue: 'opsflow',
        workflowId: 'rollout-search-api',
        args: [
          {
            ...input('search-api', [
              { weight: 10, window: '1s' },
              { weight: 100, window: '1s' },
            ]),
            lb: 'lb-api-stale',
          },
        ],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /^cannot roll out search-api, nothing was changed: LB API lb-api-stale \(http:\/\/127\.0\.0\.1:\d+\) refused the token from loadBalancers\.lb-api-stale\.token: HTTP 401/,
    );
    expect(err.cause.message).not.toMatch(new RegExp(STALE_TOKEN));
    expect(lb.posts).toEqual([]);
    expect(lb.config).toEqual(before);
    const s = await stack.client.workflow.getHandle('rollout-search-api').query(statusQuery);
    expect(s.step).toBe(0); // no step was started
  });

  test('the token revoked mid-rollout: the rollback fails non-retryably, the notifier is told loudly, and the run ends as rollback-failed', async () => {
    const handle = await atStep2('inventory');
    lb.token = testToken('rotated-elsewhere'); // the API no longer takes opsflow's token
    try {
      await handle.signal(abortSignal, { reason: 'bad numbers', by: 'test' });
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause.message).toMatch(
        /^ROLLBACK FAILED: rollout of inventory could not roll back lb-api at step 2\/3 \(30 %\) \(not retryable\): LB API lb-api \(http:\/\/127\.0\.0\.1:\d+\) refused the token from loadBalancers\.lb-api\.token: HTTP 401\. Traffic may still be on new_system; it last read back 30 % for new_system/,
      );
      expect(err.cause.message).toMatch(/Rolled back because: aborted by test at step 2\/3 \(30 %\): bad numbers/);
      expect(lb.config.traffic_split).toEqual({ new_system: 30, old_system: 70 }); // what the message warns about
      const [msg, ...more] = messagesFor('inventory');
      expect(more).toEqual([]);
      expect(msg).toMatchObject({
        severity: 'emergency',
        details: { lb: 'lb-api', step: 2, error: expect.stringMatching(/HTTP 401/) },
      });
      expect(msg.title).toMatch(
        /ROLLBACK FAILED: rollout of inventory at step 2\/3: traffic may still be on new_system/,
      );
      expect(msg.text).toMatch(/could not roll back lb-api .*HTTP 401.*Traffic may still be on new_system/);
      expect((await handle.query(statusQuery)).state).toBe('rollback-failed');
      expect((await handle.describe()).typedSearchAttributes.get(OpsflowState)).toBe('rollback-failed');
      recordHistory(stack.temporalAddress(), 'rollout-inventory', 'phased-rollout-api-rollback-failed');
    } finally {
      lb.token = TOKEN;
    }
  });

  test('the API down for a few seconds during a rollback: the rollback retries and succeeds', async () => {
    const handle = await atStep2('catalog');
    const port = lb.port;
    await lb.stop();
    try {
      await handle.signal(abortSignal, { reason: 'error budget', by: 'test' });
      // The rollback is retried against an API that refuses connections, past the 5 tries (about
      // 7 s) a rollback used to get: attempt 6 comes about 15 s after the first.
      await waitFor(
        'rollback retried while the API is down',
        async () => {
          const pending = (await handle.describe()).raw.pendingActivities?.[0];
          return pending && (pending.attempt ?? 0) >= 6 ? pending : undefined;
        },
        60_000,
        200,
      ).then(async (pending) =>
        expect(await stack.failureMessage(pending.lastFailure)).toMatch(/LB API lb-api .*failed: .*ECONNREFUSED/),
      );
      expect((await handle.query(statusQuery)).state).toBe('rolling-back');
    } finally {
      await lb.start(port);
    }
    const err = await handle.result().catch((e) => e);
    expect(err.cause.message).toBe('rollout of catalog aborted by test at step 2/3 (30 %): error budget');
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
    expect((await handle.query(statusQuery)).state).toBe('aborted');
    expect(messagesFor('catalog').map((m) => m.severity)).toEqual(['warning']); // the abort, no rollback failure
  });
});

import { createServer, type Server } from 'node:http';
import { Stack, writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { testToken } from '../helpers/tokens';

/**
 * `opsflow list` as an on-call operator reads it: one row per run with its type, service, state
 * and step from the search attributes, filtered by type, service, state and status.
 */
describe('opsflow list', () => {
  const TOKEN = testToken('cli-list-lb');
  let stack: Stack;
  let lb: LbApi;
  let web: Server;
  let configPath: string;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_CLI_LIST_LB_TOKEN = TOKEN;
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    const config = {
      http: { web: { url: `http://127.0.0.1:${port}/health` } },
      loadBalancers: { api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_CLI_LIST_LB_TOKEN' } } },
      metricSources: { host: { type: 'host' } },
    };
    configPath = writeConfig(config);
    stack = await Stack.start();
    await stack.startWorker(config);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await lb?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  const list = (...args: string[]) => stack.cli(['-c', configPath, 'list', ...args]);

  test('rows say type, service, state and step; filters narrow them; a bad filter names the flag', async () => {
    const hc = await stack.cli(['-c', configPath, 'start', 'health-check', '--id', 'list-hc', '--input', JSON.stringify({ targets: { resources: false, http: ['web'] } }), '--wait']);
    expect(hc.code).toBe(0);
    const rollout = {
      service: 'list-shop',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [{ weight: 10, window: '1h', approval: true }, { weight: 100, window: '1h' }],
      sampleInterval: '30m',
      metricSources: ['host'],
    };
    expect((await stack.cli(['-c', configPath, 'start', 'phased-rollout', '--input', JSON.stringify(rollout)])).code).toBe(0);

    // Visibility lags the runs a little: wait for the row the rollout's attributes make.
    const waiting = await waitFor('the rollout listed as awaiting approval', async () => {
      const out = await list('--type', 'phased-rollout', '--state', 'awaiting-approval', '--json');
      const rows = out.code === 0 ? (JSON.parse(out.stdout) as Array<Record<string, string>>) : [];
      return rows.length ? rows : undefined;
    }, 60_000, 500);
    expect(waiting).toEqual([
      expect.objectContaining({ workflowId: 'rollout-list-shop', type: 'phased-rollout', service: 'list-shop', state: 'awaiting-approval', step: '1/2 10%', status: 'running', closed: '-' }),
    ]);

    const table = await list('--service', 'list-shop');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^WORKFLOW ID\s+TYPE\s+SERVICE\s+STATUS\s+STATE\s+STEP\s+STARTED\s+CLOSED$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^rollout-list-shop\s+phased-rollout\s+list-shop\s+running\s+awaiting-approval\s+1\/2 10%\s+\d{4}-\d\d-\d\d /);

    const done = await waitFor('the health check listed as completed', async () => {
      const out = await list('--type', 'health-check', '--status', 'completed', '--json');
      const r = out.code === 0 ? (JSON.parse(out.stdout) as Array<Record<string, string>>) : [];
      return r.length ? r : undefined;
    }, 60_000, 500);
    expect(done.map((r) => r.workflowId)).toEqual(['list-hc']);
    expect(done[0].closed).not.toBe('-');
    expect((await list('--type', 'health-check', '--status', 'running')).stdout.trim()).toMatch(/^no runs match /);

    const bad = await list('--type', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--type: unknown workflow "nope"');
  });
});

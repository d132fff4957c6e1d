import { MockActivityEnvironment } from '@temporalio/testing';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities, lookupLoadBalancer } from '../../src/activities/systems/load-balancer';
import type { OpsflowConfig } from '../../src/config/schema';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { testToken } from '../helpers/tokens';

describe('HTTP LB API adapter (local API server checking the bearer token)', () => {
  const TOKEN = testToken('lb-api');
  let lb: LbApi;
  let acts: ReturnType<typeof loadBalancerActivities>;
  let config: OpsflowConfig;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_TEST_LB_TOKEN = TOKEN;
    process.env.OPSFLOW_TEST_LB_TOKEN_WRONG = 'nope';
    const url = `http://127.0.0.1:${lb.port}`;
    config = parseConfigText(
      JSON.stringify({
        loadBalancers: {
          api: { type: 'http-api', url, token: { env: 'OPSFLOW_TEST_LB_TOKEN' } },
          'wrong-token': { type: 'http-api', url, token: { env: 'OPSFLOW_TEST_LB_TOKEN_WRONG' } },
          'extra-system': {
            type: 'http-api',
            url,
            token: { env: 'OPSFLOW_TEST_LB_TOKEN' },
            servers: ['old_system', 'new_system', 'canary_system'],
          },
          'not-there': {
            type: 'http-api',
            url: 'http://127.0.0.1:9',
            token: { env: 'OPSFLOW_TEST_LB_TOKEN' },
            timeoutMs: 2000,
          },
        },
      }),
      'test.json',
    );
    acts = loadBalancerActivities(config);
  });
  afterAll(async () => {
    await lb?.stop();
    delete process.env.OPSFLOW_TEST_LB_TOKEN;
    delete process.env.OPSFLOW_TEST_LB_TOKEN_WRONG;
  });

  test('the runbook call: 10 % for internal users, bearer token from env, read back', async () => {
    const reading = await run(acts.setTrafficSplit, {
      lb: 'api',
      old: 'old_system',
      new: 'new_system',
      newPercent: 10,
      targetUsers: ['internal'],
    });
    expect(lb.posts.at(-1)).toEqual({
      path: '/api/config',
      auth: `Bearer ${TOKEN}`,
      body: { traffic_split: { new_system: 10, old_system: 90 }, target_users: ['internal'] },
    });
    expect(reading).toEqual({
      newPercent: 10,
      weights: { old_system: 90, new_system: 10 },
      states: { old_system: 'ready', new_system: 'ready' },
      targetUsers: ['internal'],
    });
    expect(lb.config.traffic_split).toEqual({ new_system: 10, old_system: 90 });
  });

  test('30 % then rollback to 0 %: the API reads back what was asked; repeating is harmless', async () => {
    await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 30 });
    expect(lb.config).toEqual({ traffic_split: { new_system: 30, old_system: 70 } });
    for (let i = 0; i < 2; i++)
      await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 0 });
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });

  test('server state: drain the old system, read back', async () => {
    expect(await run(acts.setLoadBalancerServerState, { lb: 'api', server: 'old_system', state: 'drain' })).toBe(
      'drain',
    );
    expect(lb.states.old_system).toBe('drain');
  });

  test('a rollback onto a drained old system makes it ready first, and reads back the whole state', async () => {
    lb.states.old_system = 'drain';
    lb.config = { traffic_split: { new_system: 30, old_system: 70 } };
    expect(await run(acts.readTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system' })).toMatchObject({
      newPercent: 100,
      states: { old_system: 'drain' },
    });
    const n = lb.posts.length;
    const reading = await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 0 });
    expect(lb.posts.slice(n).map((p) => [p.path, p.body])).toEqual([
      ['/api/servers/old_system/state', { state: 'ready' }],
      ['/api/config', { traffic_split: { new_system: 0, old_system: 100 } }],
    ]);
    expect(reading).toEqual({
      newPercent: 0,
      weights: { old_system: 100, new_system: 0 },
      states: { old_system: 'ready', new_system: 'ready' },
    });
  });

  test('both systems at 0 in the API: the read-back refuses it instead of reading "0 % new"', async () => {
    lb.config = { traffic_split: { new_system: 0, old_system: 0 } };
    const err = await run(acts.readTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system' }).catch(
      (e: any) => e,
    );
    expect(err.message).toMatch(
      /load balancer "api" reads back no server taking traffic: old_system weight 0 ready, new_system weight 0 ready \(a full outage/,
    );
    await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 0 });
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });

  test("the runbook's API exactly (no server-state endpoint): a split and a rollback are set and read back whole", async () => {
    const bare = await new LbApi(TOKEN, { serverStates: false }).start();
    try {
      const runbookOnly = loadBalancerActivities(
        parseConfigText(
          JSON.stringify({
            loadBalancers: {
              bare: { type: 'http-api', url: `http://127.0.0.1:${bare.port}`, token: { env: 'OPSFLOW_TEST_LB_TOKEN' } },
            },
          }),
          'test.json',
        ),
      );
      for (const newPercent of [30, 0]) {
        const reading = await run(runbookOnly.setTrafficSplit, {
          lb: 'bare',
          old: 'old_system',
          new: 'new_system',
          newPercent,
        });
        expect(reading).toEqual({
          newPercent,
          weights: { old_system: 100 - newPercent, new_system: newPercent },
          states: { old_system: 'ready', new_system: 'ready' },
        });
      }
      expect(bare.posts.map((p) => p.path)).toEqual(['/api/config', '/api/config']);
      expect(bare.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
    } finally {
      await bare.stop();
    }
  });

  test('planning asks the API with the token: a refused token is non-retryable and names the LB and the 401; an API not there is retryable', async () => {
    const posts = lb.posts.length;
    await expect(lookupLoadBalancer(config, 'api').checkServers(['old_system', 'new_system'])).resolves.toBeUndefined();
    const refused = await lookupLoadBalancer(config, 'wrong-token')
      .checkServers(['old_system', 'new_system'])
      .catch((e: any) => e);
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toMatch(
      /LB API wrong-token \(http:\/\/127\.0\.0\.1:\d+\) refused the token from loadBalancers\.wrong-token\.token: HTTP 401/,
    );
    const away = await lookupLoadBalancer(config, 'not-there')
      .checkServers(['old_system', 'new_system'])
      .catch((e: any) => e);
    expect(away.message).toMatch(
      /LB API not-there \(http:\/\/127\.0\.0\.1:9\): GET \/api\/config failed: .*ECONNREFUSED/,
    );
    expect(away.nonRetryable).toBeUndefined(); // a plain error: Temporal retries it
    expect(lb.posts.length).toBe(posts); // reads only
  });

  test('a wrong token is non-retryable and says which config field holds it, without the token', async () => {
    const err = await run(acts.setTrafficSplit, {
      lb: 'wrong-token',
      old: 'old_system',
      new: 'new_system',
      newPercent: 10,
    }).catch((e: any) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/refused the token from loadBalancers\.wrong-token\.token: HTTP 401/);
    expect(err.message).not.toMatch(/nope/);
  });

  test('an unknown system is non-retryable and named, locally or by the API', async () => {
    const local = await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'blue', newPercent: 10 }).catch(
      (e: any) => e,
    );
    expect(local.nonRetryable).toBe(true);
    expect(local.message).toMatch(/load balancer "api" has no server "blue"/);
    const remote = await run(acts.setTrafficSplit, {
      lb: 'extra-system',
      old: 'old_system',
      new: 'canary_system',
      newPercent: 10,
    }).catch((e: any) => e);
    expect(remote.nonRetryable).toBe(true);
    expect(remote.message).toMatch(/HTTP 400: .*unknown system canary_system/);
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });
});

import { MockActivityEnvironment } from '@temporalio/testing';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities } from '../../src/activities/load-balancer';
import { LbApi } from '../helpers/lb-api-load-balancer';

describe('HTTP LB API adapter (local API server checking the bearer token)', () => {
  const TOKEN = 's3cret-token';
  let lb: LbApi;
  let acts: ReturnType<typeof loadBalancerActivities>;
  const env = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_TEST_LB_TOKEN = TOKEN;
    process.env.OPSFLOW_TEST_LB_TOKEN_WRONG = 'nope';
    const url = `http://127.0.0.1:${lb.port}`;
    acts = loadBalancerActivities(
      parseConfigText(
        JSON.stringify({
          loadBalancers: {
            api: { type: 'http-api', url, token: { env: 'OPSFLOW_TEST_LB_TOKEN' } },
            'wrong-token': { type: 'http-api', url, token: { env: 'OPSFLOW_TEST_LB_TOKEN_WRONG' } },
            'extra-system': { type: 'http-api', url, token: { env: 'OPSFLOW_TEST_LB_TOKEN' }, servers: ['old_system', 'new_system', 'canary_system'] },
          },
        }),
        'test.json',
      ),
    );
  });
  afterAll(async () => {
    await lb?.stop();
    delete process.env.OPSFLOW_TEST_LB_TOKEN;
    delete process.env.OPSFLOW_TEST_LB_TOKEN_WRONG;
  });

  test('the runbook call: 10 % for internal users, bearer token from env, read back', async () => {
    const reading = await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 10, targetUsers: ['internal'] });
    expect(lb.posts.at(-1)).toEqual({
      path: '/api/config',
      auth: `Bearer ${TOKEN}`,
      body: { traffic_split: { new_system: 10, old_system: 90 }, target_users: ['internal'] },
    });
    expect(reading).toEqual({ newPercent: 10, weights: { old_system: 90, new_system: 10 }, targetUsers: ['internal'] });
    expect(lb.config.traffic_split).toEqual({ new_system: 10, old_system: 90 });
  });

  test('30 % then rollback to 0 %: the API reads back what was asked; repeating is harmless', async () => {
    await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 30 });
    expect(lb.config).toEqual({ traffic_split: { new_system: 30, old_system: 70 } });
    for (let i = 0; i < 2; i++) await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'new_system', newPercent: 0 });
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });

  test('server state: drain the old system, read back', async () => {
    expect(await run(acts.setLoadBalancerServerState, { lb: 'api', server: 'old_system', state: 'drain' })).toBe('drain');
    expect(lb.states.old_system).toBe('drain');
  });

  test('a wrong token is non-retryable and says which config field holds it, without the token', async () => {
    const err = await run(acts.setTrafficSplit, { lb: 'wrong-token', old: 'old_system', new: 'new_system', newPercent: 10 }).catch((e: any) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/refused the token from loadBalancers\.wrong-token\.token: HTTP 401/);
    expect(err.message).not.toMatch(/nope/);
  });

  test('an unknown system is non-retryable and named, locally or by the API', async () => {
    const local = await run(acts.setTrafficSplit, { lb: 'api', old: 'old_system', new: 'blue', newPercent: 10 }).catch((e: any) => e);
    expect(local.nonRetryable).toBe(true);
    expect(local.message).toMatch(/load balancer "api" has no server "blue"/);
    const remote = await run(acts.setTrafficSplit, { lb: 'extra-system', old: 'old_system', new: 'canary_system', newPercent: 10 }).catch((e: any) => e);
    expect(remote.nonRetryable).toBe(true);
    expect(remote.message).toMatch(/HTTP 400: .*unknown system canary_system/);
    expect(lb.config.traffic_split).toEqual({ new_system: 0, old_system: 100 });
  });
});

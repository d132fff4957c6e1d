import { createServer, type Server } from 'node:http';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseConfigText } from '../../src/config/load';
import { loadBalancerActivities } from '../../src/activities/load-balancer';

/**
 * A local LB API in the runbook's format: `POST /api/config` with a bearer token and
 * `{"traffic_split":{...},"target_users":[...]}`, `GET` reads it back; it refuses a wrong token and
 * systems it does not know, like a real one would.
 */
class LbApi {
  config: { traffic_split: Record<string, number>; target_users?: string[] } = { traffic_split: { old_system: 100, new_system: 0 } };
  states: Record<string, string> = {};
  posts: { path: string; auth?: string; body: any }[] = [];
  private server?: Server;
  port = 0;
  constructor(private readonly token: string) {}

  async start() {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: 'bad token' });
        const body = raw ? JSON.parse(raw) : undefined;
        if (req.method === 'POST') this.posts.push({ path: req.url!, auth: req.headers.authorization, body });
        if (req.url === '/api/config' && req.method === 'GET') return send(200, this.config);
        if (req.url === '/api/config' && req.method === 'POST') {
          const unknown = Object.keys(body.traffic_split ?? {}).find((k) => !['old_system', 'new_system'].includes(k));
          if (unknown) return send(400, { error: `unknown system ${unknown}` });
          this.config = { traffic_split: body.traffic_split, ...(body.target_users ? { target_users: body.target_users } : {}) };
          return send(200, { ok: true });
        }
        const m = /^\/api\/servers\/([^/]+)\/state$/.exec(req.url ?? '');
        if (m && req.method === 'POST') {
          this.states[m[1]] = body.state;
          return send(200, { ok: true });
        }
        if (m) return send(200, { state: this.states[m[1]] ?? 'ready' });
        send(404, { error: 'not found' });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

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

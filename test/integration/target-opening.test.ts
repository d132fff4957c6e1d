import { parseConfigText } from '../../src/config/load';
import { readinessActivities } from '../../src/activities/readiness';
import { cutoverPlanActivities } from '../../src/activities/cutover/plan';
import { incidentStoreActivities } from '../../src/activities/incident-store';
import { redisRouter } from '../../src/activities/systems/router/redis';
import type { OpsflowConfig } from '../../src/config/schema';
import { runActivity } from '../helpers/activity';
import { freePort } from '../helpers/ports';

/**
 * Every activity that opens a configured PostgreSQL, Redis or HTTP target goes through one helper,
 * so a target that refuses connections is named by its config entry and the field that named it,
 * not only by an address: each kind of opening here against a real port nobody listens on.
 */
describe('a configured target that cannot be reached is named in the failure', () => {
  let dead: number;
  let config: OpsflowConfig;

  beforeAll(async () => {
    dead = await freePort();
    config = parseConfigText(
      JSON.stringify({
        postgres: { deaddb: { host: '127.0.0.1', port: dead, database: 'app' } },
        redis: { deadcache: { host: '127.0.0.1', port: dead } },
        http: { deadweb: { url: `http://127.0.0.1:${dead}/health` } },
        metricSources: {
          complaints: {
            type: 'postgres-count',
            postgres: 'deaddb',
            table: 'public.complaints',
            timestampColumn: 'created_at',
          },
        },
        incident: { store: { postgres: 'deaddb', schema: 'opsflow' } },
        routers: { gateway: { type: 'redis', redis: 'deadcache' } },
        readiness: {
          checklists: {
            shop: {
              items: [
                { id: 'db', check: 'postgres', target: 'deaddb' },
                { id: 'cache', check: 'redis', target: 'deadcache' },
                { id: 'web', check: 'http', target: 'deadweb' },
              ],
            },
          },
        },
      }),
      'test.json',
    );
  });

  const refused = () => `connect ECONNREFUSED 127.0.0.1:${dead}`;

  test('readiness: PostgreSQL, Redis and HTTP items name their checklist field and config entry', async () => {
    const acts = readinessActivities(config);
    const run = (
      fn: (r: {
        checklist: string;
        item: string;
        runKey: string;
      }) => Promise<{ message: string; evidence: { value: string }[] }>,
      item: string,
    ) => runActivity(fn, { checklist: 'shop', item, runKey: 'test/run/1' });
    const db = await run(acts.readinessPostgres, 'db');
    expect(db.evidence[0].value).toBe(
      `no answer: readiness.checklists.shop.db.target "deaddb" (postgres.deaddb): ${refused()}`,
    );
    const cache = await run(acts.readinessRedis, 'cache');
    expect(cache.evidence[0].value).toBe(
      `no answer: readiness.checklists.shop.cache.target "deadcache" (redis.deadcache): ${refused()}`,
    );
    const web = await run(acts.readinessHttp, 'web');
    expect(web.message).toContain(`readiness.checklists.shop.web.target "deadweb" (http.deadweb): ${refused()}`);
  });

  test('a metric source reading a database names the source field and the database entry', async () => {
    const sample = await runActivity(cutoverPlanActivities(config).sampleCohortMetrics, {
      service: 'portal',
      cohort: 'all',
      since: '2026-11-24T10:00:00Z',
      sources: ['complaints'],
    });
    expect(JSON.stringify(sample)).toContain(
      `config.metricSources.complaints.postgres \\"deaddb\\" (postgres.deaddb): ${refused()}`,
    );
  });

  test("the incident store's database names its config field and entry", async () => {
    const incident = {
      title: 't',
      type: 'availability',
      severity: 'P2',
      severityReason: 'r',
      state: 'open',
      services: [],
      metrics: {},
      labels: {},
      source: 'test',
    };
    const err = await runActivity(incidentStoreActivities(config).reserveIncidentId, {
      openedAt: new Date().toISOString(),
      workflowId: 'w',
      runId: 'r',
      incident: incident as never,
    }).catch((e) => e);
    expect(err.message).toBe(`config.incident.store.postgres "deaddb" (postgres.deaddb): ${refused()}`);
  });

  test("a Redis router names its config field and entry (not ioredis' bare 'Connection is closed.')", async () => {
    const router = redisRouter(
      config,
      'gateway',
      config.routers.gateway as Parameters<typeof redisRouter>[2],
      'portal',
    );
    const err = await router.read!(['u1']).catch((e) => e);
    await router.close?.();
    expect(err.message).toBe(`config.routers.gateway.redis "deadcache" (redis.deadcache): ${refused()}`);
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { cutoverPlanActivities } from '../../src/activities/cutover/plan';
import { planRollout } from '../../src/activities/rollout/plan';
import { phasedRolloutInput } from '../../src/domain/rollout/input';
import { parseConfigText } from '../../src/config/load';
import { userCutoverInput } from '../../src/domain/cutover/input';
import { evaluateGate, type Sample } from '../../src/domain/gate/evaluate';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { runActivity } from '../helpers/activity';

/**
 * The `postgres-count` metric source against the machine's PostgreSQL: complaints in a real table,
 * counted since a batch started and for that batch's cohort only, as the cutover's sampling
 * activity reads them; a config that names what is not there is refused naming the field.
 */
describe('postgres-count metric source (real PostgreSQL)', () => {
  const pg = new PgScratch('pgcount');
  let schema: string;
  let acts: ReturnType<typeof cutoverPlanActivities>;
  const since = '2026-11-24T10:00:00.000Z';
  const at = (offsetMin: number) => new Date(Date.parse(since) + offsetMin * 60_000).toISOString();

  const configWith = (metricSources: object) =>
    parseConfigText(
      JSON.stringify({
        postgres: { main: { ...pgConnection } },
        redis: { cache: { host: '127.0.0.1', port: 6379 } },
        directories: { staff: { type: 'postgres', postgres: 'main', table: 'public.users' } },
        routers: { gateway: { type: 'redis', redis: 'cache' } },
        cutover: { store: { postgres: 'main', schema: 'opsflow' } },
        metricSources,
      }),
      'test.json',
    );

  beforeAll(async () => {
    await requirePostgres();
    schema = await pg.schema();
    await pg.query(
      `CREATE TABLE ${schema}.complaints (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, cohort text NOT NULL, body text)`,
    );
    const rows: [string, string][] = [
      ...Array.from({ length: 7 }, (_, k) => [at(-60 - k), 'managers'] as [string, string]), // before the batch started
      [at(0), 'managers'], // at the very start: counted
      ...Array.from({ length: 4 }, (_, k) => [at(5 + k), 'managers'] as [string, string]),
      ...Array.from({ length: 6 }, (_, k) => [at(10 + k), 'IT department'] as [string, string]), // another cohort
    ];
    for (const [t, cohort] of rows)
      await pg.query(`INSERT INTO ${schema}.complaints (created_at, cohort, body) VALUES ($1, $2, 'slow')`, [
        t,
        cohort,
      ]);
    acts = cutoverPlanActivities(
      configWith({
        complaints: {
          type: 'postgres-count',
          postgres: 'main',
          table: `${schema}.complaints`,
          timestampColumn: 'created_at',
          cohortColumn: 'cohort',
        },
        'all-complaints': {
          type: 'postgres-count',
          postgres: 'main',
          table: `${schema}.complaints`,
          timestampColumn: 'created_at',
        },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await pg.drop();
  });

  const sample = (cohort: string, sources: string[], from: string | null = since) =>
    runActivity(acts.sampleCohortMetrics, { service: 'portal', cohort, sources, ...(from ? { since: from } : {}) });
  const reading = (s: Sample, source: string) => s.readings.find((r) => r.source === source);

  test("counts only the batch's cohort rows since the batch started", async () => {
    const s = await sample('managers', ['complaints', 'all-complaints']);
    expect(reading(s, 'complaints')).toEqual({ metric: 'complaints', source: 'complaints', value: 5 });
    // without a cohort column every row since the start counts, whoever complained
    expect(reading(s, 'all-complaints')).toEqual({ metric: 'complaints', source: 'all-complaints', value: 11 });
    expect(reading(await sample('IT department', ['complaints']), 'complaints')?.value).toBe(6);
    expect(reading(await sample('Sales', ['complaints']), 'complaints')?.value).toBe(0);
    // a batch that starts later does not see the earlier rows
    expect(reading(await sample('managers', ['complaints'], at(7)), 'complaints')?.value).toBe(2);
  });

  test("the count is judged by the batch's complaints threshold", async () => {
    await pg.query(
      `INSERT INTO ${schema}.complaints (created_at, cohort) SELECT $1::timestamptz + n * interval '1 second', 'Sales' FROM generate_series(1, 11) n`,
      [at(20)],
    );
    const s = await sample('Sales', ['complaints']);
    expect(evaluateGate({ complaints: 10 }, s)).toMatchObject({
      verdict: 'fail',
      failures: [expect.objectContaining({ metric: 'complaints', value: 11, max: 10 })],
    });
    expect(evaluateGate({ complaints: 10 }, await sample('managers', ['complaints']))).toMatchObject({
      verdict: 'pass',
    });
  });

  test('a cohort value that looks like SQL is only ever a parameter', async () => {
    const s = await sample(`managers' OR '1'='1`, ['complaints']);
    expect(reading(s, 'complaints')?.value).toBe(0);
  });

  test('without a batch start, or with its database down, the reading is inconclusive, never a pass', async () => {
    expect(reading(await sample('managers', ['complaints'], null), 'complaints')).toEqual({
      metric: 'complaints',
      source: 'complaints',
      inconclusive: expect.stringMatching(/no batch start/),
    });
    const down = cutoverPlanActivities(
      parseConfigText(
        JSON.stringify({
          postgres: { gone: { ...pgConnection, port: 1, connectTimeoutMs: 2_000 } },
          metricSources: {
            complaints: {
              type: 'postgres-count',
              postgres: 'gone',
              table: 'complaints',
              timestampColumn: 'created_at',
            },
          },
        }),
        'test.json',
      ),
    );
    const s = await runActivity(down.sampleCohortMetrics, {
      service: 'portal',
      cohort: 'managers',
      since,
      sources: ['complaints'],
    });
    expect(s.readings).toEqual([
      {
        metric: 'complaints',
        source: 'complaints',
        inconclusive: expect.stringMatching(/count in gone complaints failed/),
      },
    ]);
  });

  test('an unknown postgres name or a table that is not an identifier is refused, naming the field', () => {
    const source = (over: object) =>
      configWith({
        complaints: {
          type: 'postgres-count',
          postgres: 'main',
          table: 'complaints',
          timestampColumn: 'created_at',
          ...over,
        },
      });
    expect(() => source({ postgres: 'nope' })).toThrow(
      /metricSources\.complaints\.postgres: unknown postgres target "nope"/,
    );
    expect(() => source({ table: 'complaints; DROP TABLE users' })).toThrow(
      /metricSources\.complaints\.table: .*table name/,
    );
    expect(() => source({ table: 'a.b.c' })).toThrow(/metricSources\.complaints\.table/);
    expect(() => source({ cohortColumn: 'Cohort"' })).toThrow(/metricSources\.complaints\.cohortColumn: .*identifier/);
    expect(() => source({ metric: 'errorRatePercent' })).toThrow(/metricSources\.complaints\.metric/);
  });

  test('a cutover naming a source whose table or column does not exist is refused at the plan, before anyone moves', async () => {
    const plan = (metricSources: object) =>
      runActivity(
        cutoverPlanActivities(configWith({ prom: { type: 'prometheus', url: 'http://127.0.0.1:1' }, ...metricSources }))
          .planCutover,
        userCutoverInput.parse({
          service: 'portal',
          directory: 'staff',
          router: 'gateway',
          metricSources: ['prom', 'complaints'],
        }),
      );
    const refused = async (metricSources: object) => {
      const err = await plan(metricSources).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      return (err as ApplicationFailure).message;
    };
    const base = {
      type: 'postgres-count',
      postgres: 'main',
      table: `${schema}.complaints`,
      timestampColumn: 'created_at',
      cohortColumn: 'cohort',
    };
    expect(await refused({ complaints: { ...base, table: `${schema}.no_such_table` } })).toMatch(
      new RegExp(`metricSources\\.complaints: count in main ${schema}\\.no_such_table refused: .*does not exist`),
    );
    expect(await refused({ complaints: { ...base, cohortColumn: 'team' } })).toMatch(
      /metricSources\.complaints: .*column "team" does not exist/,
    );
    expect(await refused({ complaints: { ...base, timestampColumn: 'id' } })).toMatch(/metricSources\.complaints: /);
    const ok = await plan({ complaints: base });
    expect(ok.providers.complaints).toEqual(['complaints']);
  });

  test('a phased rollout naming a postgres-count source is refused at its plan: it has no batch to count from', async () => {
    const config = parseConfigText(
      JSON.stringify({
        postgres: { main: { ...pgConnection } },
        loadBalancers: {
          edge: { type: 'haproxy', runtimeApi: { socket: '/nonexistent/haproxy.sock' }, backend: 'app' },
        },
        metricSources: {
          complaints: {
            type: 'postgres-count',
            postgres: 'main',
            table: `${schema}.complaints`,
            timestampColumn: 'created_at',
          },
        },
      }),
      'test.json',
    );
    const input = phasedRolloutInput.parse({
      service: 'portal',
      lb: 'edge',
      backends: { old: 'blue', new: 'green' },
      metricSources: ['complaints'],
    });
    const err = await runActivity(planRollout(config), { ...input, gate: undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).message).toMatch(
      /metricSources: "complaints" is a postgres-count source, .* a rollout has no batch/,
    );
  });
});

import type { Client } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import type { Baseline } from '../../domain/baseline/baseline';
import type { RawSample } from '../../domain/baseline/samples';
import { quoteSchema, storeRefFrom, withMigratedStore, type StoreRef } from '../systems/postgres/store-migrations';
import { baselineStore } from './migrations';

/** The samples and baselines in PostgreSQL (config.baseline.store). */
export type BaselineStore = StoreRef;

/** Where baselines live, from config; its absence is a config error no retry can fix. */
export function baselineStoreRef(config: OpsflowConfig): BaselineStore {
  return storeRefFrom(
    config,
    config.baseline.store,
    'baseline.store',
    'a baseline keeps its raw samples and its result in PostgreSQL',
    'BaselineStoreNotConfigured',
  );
}

type Tables = { samples: string; baselines: string };

export function withBaselineStore<T>(ref: BaselineStore, fn: (c: Client, t: Tables) => Promise<T>): Promise<T> {
  const q = quoteSchema(ref.schema);
  return withMigratedStore(ref.config, ref.schema, baselineStore, (c) =>
    fn(c, { samples: `${q}.baseline_samples`, baselines: `${q}.baselines` }),
  );
}

/** Writes one tick; a tick already written (a retry, a resumed activity) is left as it was. */
export async function insertSample(
  c: Client,
  t: Tables,
  runKey: string,
  group: string,
  seq: number,
  at: Date,
  sample: RawSample,
): Promise<void> {
  await c.query(
    `INSERT INTO ${t.samples} (run_key, grp, seq, at, sample) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [runKey, group, seq, at, JSON.stringify(sample)],
  );
}

/** The ticks of a group between two tick numbers (inclusive from, exclusive until), in order. */
export async function loadSamples(
  c: Client,
  t: Tables,
  runKey: string,
  group: string,
  from = 0,
  until = 2 ** 31 - 1,
): Promise<RawSample[]> {
  const r = await c.query(
    `SELECT sample FROM ${t.samples} WHERE run_key = $1 AND grp = $2 AND seq >= $3 AND seq < $4 ORDER BY seq`,
    [runKey, group, from, until],
  );
  return r.rows.map((row) => row.sample as RawSample);
}

/** The next tick to take: one past the last one stored in [from, until), or `from`. */
export async function nextUnstoredTick(
  c: Client,
  t: Tables,
  runKey: string,
  group: string,
  from: number,
  until: number,
): Promise<number> {
  const r = await c.query(
    `SELECT max(seq) AS last FROM ${t.samples} WHERE run_key = $1 AND grp = $2 AND seq >= $3 AND seq < $4`,
    [runKey, group, from, until],
  );
  return r.rows[0].last === null ? from : Number(r.rows[0].last) + 1;
}

/** Upserts the baseline of a run (a retried save writes the same row). */
export async function saveBaseline(ref: BaselineStore, b: Baseline): Promise<void> {
  await withBaselineStore(ref, (c, t) =>
    c.query(
      `INSERT INTO ${t.baselines} (workflow_id, run_id, service, window_start, window_end, complete, partial, samples, statistics, thresholds, baseline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (workflow_id, run_id) DO UPDATE SET window_end = EXCLUDED.window_end, complete = EXCLUDED.complete, partial = EXCLUDED.partial,
         samples = EXCLUDED.samples, statistics = EXCLUDED.statistics, thresholds = EXCLUDED.thresholds, baseline = EXCLUDED.baseline`,
      [
        b.workflowId,
        b.runId,
        b.service,
        b.window.start,
        b.window.end,
        b.complete,
        b.partial ?? null,
        JSON.stringify(Object.fromEntries(b.groups.map((g) => [g.group, g.samples]))),
        JSON.stringify(
          Object.fromEntries(b.groups.map((g) => [g.group, { statistics: g.statistics, rates: g.rates }])),
        ),
        JSON.stringify(Object.fromEntries(b.groups.map((g) => [g.group, g.thresholds]))),
        JSON.stringify(b),
      ],
    ),
  );
}

/** The latest baseline of a service (complete ones only unless `includePartial`). */
export async function latestBaseline(
  ref: BaselineStore,
  service: string,
  includePartial = false,
): Promise<Baseline | undefined> {
  return withBaselineStore(ref, async (c, t) => {
    const r = await c.query(
      `SELECT baseline FROM ${t.baselines} WHERE service = $1 ${includePartial ? '' : 'AND complete'} ORDER BY window_end DESC, created_at DESC LIMIT 1`,
      [service],
    );
    return r.rows[0]?.baseline as Baseline | undefined;
  });
}

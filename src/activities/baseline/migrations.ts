import type { StoreMigrations } from '../systems/postgres/store-migrations';

/**
 * The baseline tables: the raw ticks (keyed by run, group and tick number, so a retried or resumed
 * sampling activity writes each tick once) and the baselines themselves, found by service.
 */
export const baselineStore: StoreMigrations = {
  name: 'baseline',
  migrations: [
    {
      id: '001_baselines',
      sql: `
CREATE TABLE IF NOT EXISTS baseline_samples (
  run_key text NOT NULL,
  grp     text NOT NULL,
  seq     integer NOT NULL,
  at      timestamptz NOT NULL,
  sample  jsonb NOT NULL,
  PRIMARY KEY (run_key, grp, seq)
);
CREATE TABLE IF NOT EXISTS baselines (
  workflow_id  text NOT NULL,
  run_id       text NOT NULL,
  service      text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,
  complete     boolean NOT NULL,
  partial      text,
  samples      jsonb NOT NULL,
  statistics   jsonb NOT NULL,
  thresholds   jsonb NOT NULL,
  baseline     jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX IF NOT EXISTS baselines_service_latest ON baselines (service, complete, window_end DESC);
CREATE TABLE IF NOT EXISTS baseline_migrations (
  id         text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
`,
    },
  ],
};

/**
 * The incident tables. Each migration is idempotent (IF NOT EXISTS) and they run in order inside
 * one transaction under an advisory lock, in the schema named by config.incident.store.schema
 * (search_path is set for the transaction, so the SQL names no schema). They are applied by
 * `opsflow incident migrate`, and by the store itself before its first write or read in a process.
 */
export const incidentMigrations: { id: string; sql: string }[] = [
  {
    id: '001_incidents',
    sql: `
CREATE TABLE IF NOT EXISTS incidents (
  id               text PRIMARY KEY,
  workflow_id      text NOT NULL,
  run_id           text NOT NULL,
  title            text NOT NULL,
  type             text NOT NULL,
  severity         text NOT NULL,
  severity_reason  text NOT NULL DEFAULT '',
  state            text NOT NULL,
  owner            text,
  services         text[] NOT NULL DEFAULT '{}',
  metrics          jsonb NOT NULL DEFAULT '{}',
  labels           jsonb NOT NULL DEFAULT '{}',
  source           text NOT NULL,
  fingerprint      text,
  opened_at        timestamptz NOT NULL,
  acknowledged_at  timestamptz,
  resolved_at      timestamptz,
  respond_by       timestamptz NOT NULL,
  resolve_by       timestamptz NOT NULL,
  escalation_level integer NOT NULL DEFAULT 0,
  digest           boolean NOT NULL DEFAULT false,
  diagnostics      jsonb NOT NULL DEFAULT '{}',
  postmortem       text,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS incidents_workflow_id ON incidents (workflow_id);
CREATE INDEX IF NOT EXISTS incidents_state_opened ON incidents (state, opened_at DESC);
CREATE TABLE IF NOT EXISTS incident_events (
  incident_id text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  seq         integer NOT NULL,
  at          timestamptz NOT NULL,
  kind        text NOT NULL,
  message     text NOT NULL,
  outcome     text,
  by          text,
  PRIMARY KEY (incident_id, seq)
);
CREATE TABLE IF NOT EXISTS incident_migrations (
  id         text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    id: '002_digest_sent',
    sql: `ALTER TABLE incidents ADD COLUMN IF NOT EXISTS digest_sent_at timestamptz;
CREATE INDEX IF NOT EXISTS incidents_digest_pending ON incidents (opened_at) WHERE digest AND digest_sent_at IS NULL;`,
  },
  {
    // The alert as Alertmanager sent it, whole (labels and annotations that the record's columns show cut).
    id: '003_alert_evidence',
    sql: `ALTER TABLE incidents ADD COLUMN IF NOT EXISTS alert jsonb;`,
  },
];

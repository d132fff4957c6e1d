import type { StoreMigrations } from '../postgres/store-migrations';

/**
 * The cutover tables. A batch's members are stored once (the snapshot): `seq` orders them for
 * chunked, resumable moves; `UNIQUE (run_key, user_id)` is what keeps a user moved by an earlier
 * batch out of a later one. `cutover_priors` holds the route each member had before the move, only
 * for members that had one (most have none: no row to write), and `priors_recorded` says the
 * batch's priors were all read: a member without a row then had no route of its own.
 */
export const cutoverStore: StoreMigrations = {
  name: 'cutover',
  migrations: [
    {
      id: '001_cutover',
      sql: `
CREATE TABLE IF NOT EXISTS cutover_migrations (
  id         text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS cutover_snapshots (
  run_key  text NOT NULL,
  batch    integer NOT NULL,
  members  bigint NOT NULL,
  taken_at timestamptz NOT NULL DEFAULT now(),
  priors_recorded boolean NOT NULL DEFAULT false,
  PRIMARY KEY (run_key, batch)
);
CREATE TABLE IF NOT EXISTS cutover_members (
  run_key        text NOT NULL,
  batch          integer NOT NULL,
  seq            bigint NOT NULL,
  user_id        text NOT NULL,
  PRIMARY KEY (run_key, batch, seq),
  UNIQUE (run_key, user_id)
);
CREATE TABLE IF NOT EXISTS cutover_priors (
  run_key text NOT NULL,
  batch   integer NOT NULL,
  seq     bigint NOT NULL,
  prior   text NOT NULL,
  PRIMARY KEY (run_key, batch, seq)
);
`,
    },
  ],
};

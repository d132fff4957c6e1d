import type { Client, ClientConfig } from 'pg';
import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import type { PostgresStoreConfig } from '../../../config/sections/postgres-store';
import { configTarget } from '../../config-target';
import { clientConfig, withClient } from './connect';
import { quoteIdent } from './identifiers';

/**
 * The tables of a store (incidents, baselines) kept up to date in one way: idempotent migrations
 * applied in order, in one transaction, under an advisory lock, in the store's schema, each
 * recorded in `<name>_migrations` (which the first migration creates).
 */
export interface StoreMigrations {
  /** `incident` → lock `opsflow-incident-migrations`, table `incident_migrations`. */
  name: string;
  migrations: { id: string; sql: string }[];
}

/** A store's database (by its config.postgres name), connection settings and schema. */
export interface StoreRef {
  name: string;
  schema: string;
  config: ClientConfig;
}

/**
 * A store from its config section (`incident.store`, `baseline.store`). Its absence is a config
 * error no retry can fix: non-retryable, of type `notConfigured`, with `why` saying what needs it.
 */
export function storeRefFrom(
  config: OpsflowConfig,
  store: PostgresStoreConfig | undefined,
  path: string,
  why: string,
  notConfigured: string,
): StoreRef {
  if (!store) throw ApplicationFailure.nonRetryable(`config.${path} is not set: ${why}`, notConfigured);
  const target = configTarget(config.postgres, 'postgres', store.postgres, `config.${path}.postgres`);
  return {
    name: store.postgres,
    schema: store.schema,
    config: clientConfig(store.postgres, target, `config.${path}.postgres`),
  };
}

/** A store's schema in SQL (validated by the config as a lower-case identifier, and quoted). */
export const quoteSchema = quoteIdent;

/** Applies what is not applied yet; returns the ids applied now. Concurrent workers serialise on the lock. */
export async function applyMigrations(c: Client, schema: string, set: StoreMigrations): Promise<string[]> {
  const applied: string[] = [];
  await c.query('BEGIN');
  try {
    // Per store and schema: migrations of one schema wait for each other, a store in another schema
    // (another team's, or a test's) never waits behind a transaction it has nothing to do with.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opsflow-${set.name}-migrations:${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(schema)}`);
    await c.query(`SET LOCAL search_path TO ${quoteSchema(schema)}`);
    for (const m of set.migrations) {
      await c.query(m.sql);
      const r = await c.query(`INSERT INTO ${set.name}_migrations (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [
        m.id,
      ]);
      if (r.rowCount) applied.push(m.id);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}

const migrated = new Map<string, Promise<unknown>>();

/** Runs `fn` with a client on a migrated store; migrations run once per process, store and schema. */
export async function withMigratedStore<T>(
  config: ClientConfig,
  schema: string,
  set: StoreMigrations,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  return withClient(config, async (c) => {
    const key = `${set.name}@${config.host}:${config.port}/${config.database}/${schema}`;
    if (!migrated.has(key)) {
      const p = applyMigrations(c, schema, set);
      migrated.set(key, p);
      p.catch(() => migrated.delete(key));
    }
    await migrated.get(key);
    return fn(c);
  });
}

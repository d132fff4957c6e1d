import { ApplicationFailure, Context } from '@temporalio/activity';
import { Pool, type Client, type ClientConfig, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import type { PostgresTarget } from '../../config/sections/targets';
import { clientConfig, connectNamed, withClient } from '../systems/postgres/connect';

/**
 * Connection settings of a database named in a migration input. The session settings make both
 * servers render values alike for checksums (TimeZone, DateStyle, float digits) and let a server
 * notice a killed worker's dropped connection mid-statement, so its transaction rolls back at once.
 */
export function migrationClientConfig(config: OpsflowConfig, name: string, field: string): ClientConfig {
  const target = databaseTarget(config, name, field);
  return {
    ...clientConfig(name, target, field),
    application_name: 'opsflow-migration',
    options:
      '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 ' +
      '-c bytea_output=hex -c statement_timeout=0 -c client_connection_check_interval=2000',
  };
}

function databaseTarget(config: OpsflowConfig, name: string, field: string): PostgresTarget {
  const target = config.postgres[name];
  if (!target) {
    throw ApplicationFailure.nonRetryable(
      `${field}: unknown database "${name}" (not in config.postgres; known: ${Object.keys(config.postgres).join(', ') || 'none'})`,
      'UnknownDatabase',
    );
  }
  return target;
}

/** Same server and database: then one statement can read, write and flag in one transaction. */
export function sameDatabase(config: OpsflowConfig, a: string, b: string): boolean {
  const x = config.postgres[a];
  const y = config.postgres[b];
  return !!x && !!y && x.host === y.host && x.port === y.port && x.database === y.database;
}

interface PgError extends Error {
  code?: string;
}

/**
 * PostgreSQL errors that no retry can fix — a missing table or column, bad SQL in a mapping, a
 * value the target type rejects, a constraint the mapped rows break, a database that does not
 * exist, refused credentials — become non-retryable failures that say where they came from.
 * Everything else (connections, deadlocks, serialization) stays retryable.
 */
export function asFailure(err: unknown, where?: string): Error {
  if (err instanceof ApplicationFailure) return err;
  const e = err as PgError;
  const code = e?.code ?? '';
  if (/^(42|22|23|3D|28|0A)/.test(code)) {
    return ApplicationFailure.nonRetryable(
      `${where ? `${where}: ` : ''}${e.message} (SQLSTATE ${code})`,
      'MigrationInputError',
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * One pool per database for the worker's lifetime: a chunk costs tens of milliseconds, and a new
 * connection per activity would add a backend fork to each. Idle connections close after 10 s and
 * never keep the process alive.
 */
export class MigrationPools {
  private pools = new Map<string, Pool>();

  get(key: string, cfg: ClientConfig): Pool {
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool({ ...cfg, max: 32, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
      pool.on('error', () => undefined); // an idle client's dropped connection: it is discarded
      this.pools.set(key, pool);
    }
    return pool;
  }
}

/** Pooled clients that already have an error listener (one each, not one per checkout). */
const guarded = new WeakSet<PoolClient>();

/**
 * Runs `fn` with a pooled client while heartbeating; if the activity is cancelled, the running
 * statement is cancelled on the server (its transaction rolls back) and the cancellation is
 * rethrown. A client that saw an error is discarded rather than returned to the pool.
 */
export async function withActivityClient<T>(pool: Pool, cfg: ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const client = (await connectNamed(pool, cfg)) as PoolClient;
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => undefined); // a dropped connection surfaces through the query instead
  }
  const beat = setInterval(() => ctx.heartbeat(), 1_000);
  const pid = (client as unknown as { processID?: number }).processID;
  const onCancel = () => {
    if (pid) void withClient(cfg, (c) => c.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => undefined);
  };
  ctx.cancellationSignal.addEventListener('abort', onCancel);
  let failed: Error | undefined;
  try {
    return await fn(client);
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(beat);
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
    client.release(failed ?? (ctx.cancellationSignal.aborted ? true : undefined));
  }
}

/** BEGIN … COMMIT, rolled back on any error. */
export async function inTransaction<T>(c: Client, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await c.query(begin);
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Runs a statement that embeds operator SQL (a mapping expression, the filter) through the
 * extended protocol even without parameters: the server then refuses anything but one statement.
 */
export function oneStatement<R extends QueryResultRow = QueryResultRow>(
  c: Client,
  text: string,
  values: unknown[] = [],
): Promise<QueryResult<R>> {
  return c.query<R>({ text, values, queryMode: 'extended' } as { text: string; values: unknown[] });
}

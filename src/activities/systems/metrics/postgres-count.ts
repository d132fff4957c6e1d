import type { Client } from 'pg';
import type { OpsflowConfig } from '../../../config/schema';
import type { PostgresCountSourceConfig } from '../../../config/sections/metric-sources';
import type { MetricReading } from '../../../domain/gate/evaluate';
import { configTarget } from '../../config-target';
import { clientConfig, withClient } from '../postgres/connect';
import { quoteIdent, quoteTable } from '../postgres/identifiers';

/** What a count needs from the batch being watched: its start, and its name as the cohort column holds it. */
export interface CountWindow {
  /** ISO time the batch started; rows before it are not counted. */
  since?: string;
  cohort?: string;
}

/**
 * The count query: table and columns come from the validated config (and are quoted), the batch
 * start and cohort are parameters. `cohort` undefined leaves the cohort condition out.
 */
function postgresCountQuery(
  cfg: PostgresCountSourceConfig,
  since: string,
  cohort?: string,
): { text: string; values: unknown[] } {
  const where = [`${quoteIdent(cfg.timestampColumn)} >= $1`];
  const values: unknown[] = [since];
  if (cfg.cohortColumn && cohort !== undefined) {
    values.push(cohort);
    where.push(`${quoteIdent(cfg.cohortColumn)} = $2`);
  }
  return { text: `SELECT count(*)::bigint AS n FROM ${quoteTable(cfg.table)} WHERE ${where.join(' AND ')}`, values };
}

function connection(config: OpsflowConfig, name: string, cfg: PostgresCountSourceConfig) {
  const target = configTarget(config.postgres, 'postgres', cfg.postgres, `config.metricSources.${name}.postgres`);
  // A hung count must not hold the sample: the server cancels it, and the client gives up too.
  return {
    ...clientConfig(cfg.postgres, target, `config.metricSources.${name}.postgres`),
    statement_timeout: cfg.timeoutMs,
    query_timeout: cfg.timeoutMs + 1_000,
  };
}

async function count(c: Client, cfg: PostgresCountSourceConfig, since: string, cohort?: string): Promise<number> {
  const q = postgresCountQuery(cfg, since, cohort);
  const r = await c.query<{ n: string }>(q);
  return Number(r.rows[0].n);
}

/**
 * Rows since the batch started (of its cohort, when the source has a cohort column): one reading of
 * the configured metric. Without a batch start (a rollout, not a cutover) or when the database does
 * not answer, the reading is inconclusive, never a pass. Read-only.
 */
export async function samplePostgresCount(
  name: string,
  cfg: PostgresCountSourceConfig,
  config: OpsflowConfig,
  at: CountWindow,
): Promise<MetricReading[]> {
  const inconclusive = (why: string): MetricReading[] => [{ metric: cfg.metric, source: name, inconclusive: why }];
  if (!at.since) return inconclusive('counts rows since a cutover batch started, and no batch start was given');
  if (cfg.cohortColumn && at.cohort === undefined)
    return inconclusive(`counts the batch's rows by ${cfg.cohortColumn}, and no batch was given`);
  try {
    const n = await withClient(connection(config, name, cfg), (c) => count(c, cfg, at.since!, at.cohort));
    return [{ metric: cfg.metric, source: name, value: n }];
  } catch (err) {
    return inconclusive(`count in ${cfg.postgres} ${cfg.table} failed: ${(err as Error).message}`);
  }
}

/**
 * Runs the count once (now, an unlikely cohort) so that a table or column that does not exist, or
 * a timestamp column that is not a time, is found before anyone is moved. Returns the problem, or
 * undefined; a database that cannot be reached is not a config mistake and is left to the samples.
 */
export async function checkPostgresCount(
  name: string,
  cfg: PostgresCountSourceConfig,
  config: OpsflowConfig,
): Promise<string | undefined> {
  const conn = connection(config, name, cfg);
  try {
    await withClient(conn, (c) => count(c, cfg, new Date().toISOString(), ''));
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // SQLSTATE class 42: undefined table or column, a type without a comparison, no privilege;
    // class 22: a value the column cannot hold (a time in a number column, a name in an id column)
    if (typeof code === 'string' && (code.startsWith('42') || code.startsWith('22')))
      return `metricSources.${name}: count in ${cfg.postgres} ${cfg.table} refused: ${(err as Error).message}`;
    return undefined;
  }
}

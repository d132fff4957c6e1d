import type { Client } from 'pg';
import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { IncidentRecord, TimelineEntry } from '../../domain/incident';
import { clientConfig, withClient } from '../postgres/connect';
import { incidentMigrations } from './migrations';
import { configTarget } from '../config-target';

export interface StoreRef {
  name: string;
  schema: string;
  config: ReturnType<typeof clientConfig>;
}

/** Where incidents live, from config; its absence is a config error no retry can fix. */
export function storeRef(config: OpsflowConfig): StoreRef {
  const s = config.incident.store;
  if (!s) {
    throw ApplicationFailure.nonRetryable(
      'config.incident.store is not set: incidents are stored in PostgreSQL (SPEC §6: every incident is saved)',
      'IncidentStoreNotConfigured',
    );
  }
  const target = configTarget(config.postgres, 'postgres', s.postgres, 'config.incident.store.postgres');
  return { name: s.postgres, schema: s.schema, config: clientConfig(s.postgres, target) };
}

/** The schema name is validated by the config (lower-case identifier), so quoting it is enough. */
const q = (schema: string) => `"${schema}"`;

/** Applies the migrations (idempotent); concurrent workers serialise on an advisory lock. */
export async function migrate(c: Client, schema: string): Promise<string[]> {
  const applied: string[] = [];
  await c.query('BEGIN');
  try {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('opsflow-incident-migrations'))");
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
    await c.query(`SET LOCAL search_path TO ${q(schema)}`);
    for (const m of incidentMigrations) {
      await c.query(m.sql);
      const r = await c.query('INSERT INTO incident_migrations (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [m.id]);
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

/** Runs `fn` with a client on a migrated store; migrations run once per process and store. */
export async function withStore<T>(ref: StoreRef, fn: (c: Client, t: { incidents: string; events: string }) => Promise<T>): Promise<T> {
  return withClient(ref.config, async (c) => {
    const key = `${ref.config.host}:${ref.config.port}/${ref.config.database}/${ref.schema}`;
    if (!migrated.has(key)) {
      const p = migrate(c, ref.schema);
      migrated.set(key, p);
      p.catch(() => migrated.delete(key));
    }
    await migrated.get(key);
    return fn(c, { incidents: `${q(ref.schema)}.incidents`, events: `${q(ref.schema)}.incident_events` });
  });
}

export type IncidentRow = Omit<IncidentRecord, 'timeline'> & { runId: string; diagnostics: Record<string, unknown> };

function toRecord(r: Record<string, any>): IncidentRow {
  const iso = (d: Date | null) => (d ? d.toISOString() : undefined);
  return {
    id: r.id,
    workflowId: r.workflow_id,
    runId: r.run_id,
    title: r.title,
    type: r.type,
    severity: r.severity,
    severityReason: r.severity_reason,
    state: r.state,
    owner: r.owner ?? undefined,
    services: r.services,
    metrics: r.metrics,
    labels: r.labels,
    source: r.source,
    fingerprint: r.fingerprint ?? undefined,
    openedAt: iso(r.opened_at)!,
    acknowledgedAt: iso(r.acknowledged_at),
    resolvedAt: iso(r.resolved_at),
    sla: {
      respondBy: iso(r.respond_by)!,
      resolveBy: iso(r.resolve_by)!,
      respondMinutes: Math.round((r.respond_by - r.opened_at) / 60_000),
      resolveMinutes: Math.round((r.resolve_by - r.opened_at) / 60_000),
    },
    escalationLevel: r.escalation_level,
    digest: r.digest,
    postmortem: r.postmortem ?? undefined,
    diagnostics: r.diagnostics,
  };
}

export function toTimeline(rows: Record<string, any>[]): TimelineEntry[] {
  return rows.map((e) => ({
    seq: e.seq,
    at: e.at.toISOString(),
    kind: e.kind,
    message: e.message,
    outcome: e.outcome ?? undefined,
    by: e.by ?? undefined,
  }));
}

export async function findIncident(ref: StoreRef, idOrWorkflowId: string): Promise<(IncidentRow & { timeline: TimelineEntry[] }) | undefined> {
  return withStore(ref, async (c, t) => {
    const r = await c.query(`SELECT * FROM ${t.incidents} WHERE id = $1 OR workflow_id = $1 ORDER BY opened_at DESC LIMIT 1`, [idOrWorkflowId]);
    if (!r.rows[0]) return undefined;
    const ev = await c.query(`SELECT * FROM ${t.events} WHERE incident_id = $1 ORDER BY seq`, [r.rows[0].id]);
    return { ...toRecord(r.rows[0]), timeline: toTimeline(ev.rows) };
  });
}

export async function listIncidents(ref: StoreRef, filter: { state?: string; severity?: string; digest?: boolean; limit: number }): Promise<IncidentRow[]> {
  return withStore(ref, async (c, t) => {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) where.push(`state = $${args.push(filter.state)}`);
    if (filter.severity) where.push(`severity = $${args.push(filter.severity)}`);
    if (filter.digest !== undefined) where.push(`digest = $${args.push(filter.digest)}`);
    const sql = `SELECT * FROM ${t.incidents} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC LIMIT $${args.push(filter.limit)}`;
    return (await c.query(sql, args)).rows.map(toRecord);
  });
}

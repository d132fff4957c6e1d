import type { Client, QueryResultRow } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import type { AlertEvidence, IncidentRecord, TimelineEntry } from '../../domain/incident/incident';
import {
  applyMigrations,
  quoteSchema,
  storeRefFrom,
  withMigratedStore,
  type StoreMigrations,
  type StoreRef,
} from '../systems/postgres/store-migrations';
import { incidentMigrations } from './migrations';

export type { StoreRef };

/**
 * Where incidents live, from config; its absence is a config error no retry can fix for what needs
 * the store (list, show, digest, diagnostics). The incident itself runs without one.
 */
export function storeRef(config: OpsflowConfig): StoreRef {
  return storeRefFrom(
    config,
    config.incident.store,
    'incident.store',
    'incident records, postmortems and diagnostics are kept in PostgreSQL; without it an incident is kept only in its workflow history and status',
    'IncidentStoreNotConfigured',
  );
}

const q = quoteSchema;
const incidentStore: StoreMigrations = { name: 'incident', migrations: incidentMigrations };

/** Applies the incident migrations (idempotent); concurrent workers serialise on an advisory lock. */
export async function migrate(c: Client, schema: string): Promise<string[]> {
  return applyMigrations(c, schema, incidentStore);
}

/** Runs `fn` with a client on a migrated store; migrations run once per process and store. */
export async function withStore<T>(
  ref: StoreRef,
  fn: (c: Client, t: { incidents: string; events: string }) => Promise<T>,
): Promise<T> {
  return withMigratedStore(ref.config, ref.schema, incidentStore, (c) =>
    fn(c, { incidents: `${q(ref.schema)}.incidents`, events: `${q(ref.schema)}.incident_events` }),
  );
}

export type IncidentRow = Omit<IncidentRecord, 'timeline'> & {
  runId: string;
  diagnostics: Record<string, unknown>;
  alert?: AlertEvidence;
};

function toRecord(r: QueryResultRow): IncidentRow {
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
    alert: r.alert ?? undefined,
  };
}

function toTimeline(rows: QueryResultRow[]): TimelineEntry[] {
  return rows.map((e) => ({
    seq: e.seq,
    at: e.at.toISOString(),
    kind: e.kind,
    message: e.message,
    outcome: e.outcome ?? undefined,
    by: e.by ?? undefined,
  }));
}

export async function findIncident(
  ref: StoreRef,
  idOrWorkflowId: string,
): Promise<(IncidentRow & { timeline: TimelineEntry[] }) | undefined> {
  return withStore(ref, async (c, t) => {
    const r = await c.query(
      `SELECT * FROM ${t.incidents} WHERE id = $1 OR workflow_id = $1 ORDER BY opened_at DESC LIMIT 1`,
      [idOrWorkflowId],
    );
    if (!r.rows[0]) return undefined;
    const ev = await c.query(`SELECT * FROM ${t.events} WHERE incident_id = $1 ORDER BY seq`, [r.rows[0].id]);
    return { ...toRecord(r.rows[0]), timeline: toTimeline(ev.rows) };
  });
}

export async function listIncidents(
  ref: StoreRef,
  filter: { state?: string; severity?: string; digest?: boolean; limit: number },
): Promise<IncidentRow[]> {
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

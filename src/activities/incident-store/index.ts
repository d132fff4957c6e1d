import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import {
  incidentId,
  type AlertEvidence,
  type IncidentRecord,
  type TimelineEntry,
} from '../../domain/incident/incident';
import { storeRef, withStore } from './store';

export type IncidentSnapshot = Omit<IncidentRecord, 'timeline'>;

export interface SaveIncidentInput {
  incident: IncidentSnapshot;
  runId: string;
  /** Timeline entries not stored yet (the workflow sends each once; a retry re-sends the same). */
  events: TimelineEntry[];
}

/**
 * The incident tables in PostgreSQL. Every write is an upsert keyed by the incident id and every
 * timeline entry is keyed by (incident id, seq), so a retried activity leaves the same rows.
 */
export function incidentStoreActivities(config: OpsflowConfig) {
  return {
    /**
     * Claims `INC-<workflow time>` for this run, or `-2`, `-3`... when another incident holds that
     * second. Idempotent: a retry finds the row this run already claimed.
     */
    async reserveIncidentId(input: {
      openedAt: string;
      workflowId: string;
      runId: string;
      incident: IncidentSnapshot;
      /** Written once, here, so the (large) evidence is not resent with every save. */
      alert?: AlertEvidence;
    }): Promise<string> {
      const ref = storeRef(config);
      return withStore(ref, async (c, t) => {
        const mine = await c.query(`SELECT id FROM ${t.incidents} WHERE workflow_id = $1 AND run_id = $2`, [
          input.workflowId,
          input.runId,
        ]);
        if (mine.rows[0]) return mine.rows[0].id as string;
        for (let attempt = 1; attempt <= 100; attempt++) {
          const id = incidentId(new Date(input.openedAt), attempt);
          const r = await c.query(
            `INSERT INTO ${t.incidents} (id, workflow_id, run_id, title, type, severity, severity_reason, state, services, metrics, labels, source,
               fingerprint, opened_at, respond_by, resolve_by, alert)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (id) DO NOTHING RETURNING id`,
            [
              id,
              input.workflowId,
              input.runId,
              input.incident.title,
              input.incident.type,
              input.incident.severity,
              input.incident.severityReason,
              input.incident.state,
              input.incident.services,
              JSON.stringify(input.incident.metrics),
              JSON.stringify(input.incident.labels),
              input.incident.source,
              input.incident.fingerprint ?? null,
              input.openedAt,
              input.incident.sla.respondBy,
              input.incident.sla.resolveBy,
              input.alert ? JSON.stringify(input.alert) : null,
            ],
          );
          if (r.rowCount) return id;
        }
        throw new Error(`no free incident id for ${input.openedAt} after 100 attempts`);
      });
    },

    /** Upserts the incident row and appends the new timeline entries. */
    async saveIncident(input: SaveIncidentInput): Promise<void> {
      const ref = storeRef(config);
      const i = input.incident;
      await withStore(ref, async (c, t) => {
        await c.query('BEGIN');
        try {
          const up = await c.query(
            `INSERT INTO ${t.incidents} (id, workflow_id, run_id, title, type, severity, severity_reason, state, owner, services, metrics, labels,
               source, fingerprint, opened_at, acknowledged_at, resolved_at, respond_by, resolve_by, escalation_level, digest, postmortem, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, now())
             ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, severity = EXCLUDED.severity, severity_reason = EXCLUDED.severity_reason,
               state = EXCLUDED.state, owner = EXCLUDED.owner, services = EXCLUDED.services, metrics = EXCLUDED.metrics, labels = EXCLUDED.labels,
               acknowledged_at = EXCLUDED.acknowledged_at, resolved_at = EXCLUDED.resolved_at, respond_by = EXCLUDED.respond_by,
               resolve_by = EXCLUDED.resolve_by, escalation_level = EXCLUDED.escalation_level, digest = EXCLUDED.digest,
               postmortem = COALESCE(EXCLUDED.postmortem, ${t.incidents}.postmortem), updated_at = now()
             WHERE ${t.incidents}.run_id = EXCLUDED.run_id`,
            [
              i.id,
              i.workflowId,
              input.runId,
              i.title,
              i.type,
              i.severity,
              i.severityReason,
              i.state,
              i.owner ?? null,
              i.services,
              JSON.stringify(i.metrics),
              JSON.stringify(i.labels),
              i.source,
              i.fingerprint ?? null,
              i.openedAt,
              i.acknowledgedAt ?? null,
              i.resolvedAt ?? null,
              i.sla.respondBy,
              i.sla.resolveBy,
              i.escalationLevel,
              i.digest,
              i.postmortem ?? null,
            ],
          );
          if (!up.rowCount) {
            throw ApplicationFailure.nonRetryable(
              `incident id ${i.id} belongs to another run (not ${input.runId})`,
              'IncidentIdTaken',
            );
          }
          for (const e of input.events) {
            await c.query(
              `INSERT INTO ${t.events} (incident_id, seq, at, kind, message, outcome, by) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (incident_id, seq) DO NOTHING`,
              [i.id, e.seq, e.at, e.kind, e.message, e.outcome ?? null, e.by ?? null],
            );
          }
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
  };
}

export interface DigestItem {
  id: string;
  title: string;
  type: string;
  state: string;
  openedAt: string;
  resolvedAt?: string;
}

/** The P3 business-hours digest: what is waiting (reads only) and marking it sent (idempotent). */
export function incidentDigestActivities(config: OpsflowConfig) {
  return {
    async pendingDigestIncidents(input: { limit: number }): Promise<DigestItem[]> {
      return withStore(storeRef(config), async (c, t) => {
        const r = await c.query(
          `SELECT id, title, type, state, opened_at, resolved_at FROM ${t.incidents}
            WHERE digest AND digest_sent_at IS NULL ORDER BY opened_at LIMIT $1`,
          [input.limit],
        );
        return r.rows.map((x) => ({
          id: x.id,
          title: x.title,
          type: x.type,
          state: x.state,
          openedAt: x.opened_at.toISOString(),
          ...(x.resolved_at ? { resolvedAt: x.resolved_at.toISOString() } : {}),
        }));
      });
    },
    /** Idempotent: only rows not marked yet are marked, so a retry changes nothing more. */
    async markDigestSent(input: { ids: string[] }): Promise<number> {
      return withStore(storeRef(config), async (c, t) => {
        const r = await c.query(
          `UPDATE ${t.incidents} SET digest_sent_at = now() WHERE id = ANY($1) AND digest_sent_at IS NULL`,
          [input.ids],
        );
        return r.rowCount ?? 0;
      });
    },
  };
}

/** Stores one diagnostics section under its name (an upsert of one key of the jsonb column). */
export async function storeDiagnostics(
  config: OpsflowConfig,
  incident: string,
  section: Record<string, unknown>,
): Promise<void> {
  await withStore(storeRef(config), async (c, t) => {
    const r = await c.query(
      `UPDATE ${t.incidents} SET diagnostics = diagnostics || $2::jsonb, updated_at = now() WHERE id = $1`,
      [incident, JSON.stringify(section)],
    );
    if (!r.rowCount) throw new Error(`incident ${incident} is not in the store yet`);
  });
}

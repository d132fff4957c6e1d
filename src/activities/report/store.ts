import type { Client } from 'pg';
import type { OpsflowConfig } from '../../config/schema';
import { clientConfig, withClient } from '../systems/postgres/connect';

/** A stored daily report, as `opsflow report show` prints it. */
export interface StoredReport {
  date: string;
  createdAt: string;
  summary: string;
  markdown: string;
  html: string;
  workflowId: string;
}

/** The store of daily reports: a table in the configured schema, created on first use. */
export function reportStore(config: OpsflowConfig) {
  const s = config.dailyReport.store;
  if (!s) return undefined;
  const table = `${s.schema}.opsflow_daily_reports`;
  const run = <T>(fn: (c: Client) => Promise<T>) =>
    withClient(
      clientConfig(s.postgres, config.postgres[s.postgres], 'config.dailyReport.store.postgres'),
      async (c) => {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${s.schema}`);
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${table} (report_date date PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
           summary text NOT NULL, markdown text NOT NULL, html text NOT NULL, workflow_id text NOT NULL)`,
        );
        return fn(c);
      },
    );
  return {
    /** Keeps this report (a rerun of a day replaces it) and only the newest `keep` days. */
    save: (r: Omit<StoredReport, 'createdAt'>) =>
      run(async (c) => {
        await c.query(
          `INSERT INTO ${table} (report_date, summary, markdown, html, workflow_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (report_date) DO UPDATE SET summary = EXCLUDED.summary, markdown = EXCLUDED.markdown, html = EXCLUDED.html,
             workflow_id = EXCLUDED.workflow_id, created_at = now()`,
          [r.date, r.summary, r.markdown, r.html, r.workflowId],
        );
        const pruned = await c.query(
          `DELETE FROM ${table} WHERE report_date NOT IN (SELECT report_date FROM ${table} ORDER BY report_date DESC LIMIT $1)`,
          [s.keep],
        );
        return { pruned: pruned.rowCount ?? 0 };
      }),
    /** One day's report, or the newest when no date is given. */
    find: (date?: string) =>
      run(async (c) => {
        const r = await c.query(
          `SELECT to_char(report_date, 'YYYY-MM-DD') AS date, created_at AS "createdAt", summary, markdown, html, workflow_id AS "workflowId"
             FROM ${table} ${date ? 'WHERE report_date = $1' : ''} ORDER BY report_date DESC LIMIT 1`,
          date ? [date] : [],
        );
        return r.rows[0] as StoredReport | undefined;
      }),
  };
}

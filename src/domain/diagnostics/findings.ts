/** The shapes the diagnostics activities return: shared by the activities, the workflow and the report. */

export interface SlowStatement {
  query: string;
  calls: number;
  mean_ms: number;
}

export interface TableSize {
  table: string;
  rows: number;
  table_bytes: number;
  index_bytes: number;
  total_bytes: number;
}

export interface IndexUse {
  index: string;
  table: string;
  scans: number;
  bytes: number;
}

export interface Session {
  pid: number;
  user: string | null;
  database: string | null;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  /** Since the session connected. */
  session_seconds: number | null;
  /** Since its current transaction began (null outside one). */
  transaction_seconds: number | null;
  /** Since its current (or last) statement began. */
  running_seconds: number | null;
  query: string;
}

export interface PostgresFindings {
  database: string;
  sessions: Session[];
  /** A sentence instead of a list when pg_stat_statements cannot be read: an empty list would read as "nothing is slow". */
  slowStatements: SlowStatement[] | string;
  tables: TableSize[];
  indexes: IndexUse[];
  /** Indexes with fewer than 100 scans that enforce nothing (unique and primary-key indexes are left out). */
  unusedIndexes: IndexUse[];
}

export interface HostFindings {
  uptimeSeconds: number;
  cpuPercent: number;
  loadAverage: number;
  memory: { totalMb: number; availableMb: number; usedPercent: number };
  disks: { mount: string; usedPercent: number }[];
  topProcesses: { pid: number; name: string; cpu: number; memPercent: number; command: string }[];
}

/** One part of a diagnosis: what was found, or why it could not be. */
export type Section<T> = { ok: true; findings: T } | { ok: false; error: string };

export interface DiagnosticsResult {
  collectedAt: string;
  postgres?: { target: string } & Section<PostgresFindings>;
  host?: Section<HostFindings>;
  /** The report in Markdown (domain/diagnostics/report.ts). */
  markdown: string;
}

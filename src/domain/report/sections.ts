import type { HostFindings, Section } from '../diagnostics/findings';

/** What each part of the daily report holds; a part that could not be gathered holds why. */
export interface HostReport extends HostFindings {
  network: { iface: string; rxBytes: number; txBytes: number }[];
}
export interface UnitState {
  unit: string;
  state: string;
}
export interface LogErrors {
  file: string;
  lines: string[];
  /** The file could not be read (missing, no permission). */
  error?: string;
}
export interface PostgresReport {
  connections: { database: string; state: string; count: number }[];
  sizes: { database: string; bytes: number }[];
}
export interface RedisReport {
  connectedClients: number;
  usedMemoryBytes: number;
}
export interface BackupStanding {
  copies: number;
  latest?: string;
  latestVerified?: string;
  verifiedAgeHours?: number;
  totalBytes: number;
  /** The latest verified copy's drill: its restore time. */
  restoreSeconds?: number;
  /** Copies whose files changed after their verification, in words (`corrupt since verified: …`). */
  corrupt?: string;
}
export interface RunRecord {
  type: string;
  workflowId: string;
  status: string;
  start: string;
  close?: string;
}
export interface RunsReport {
  runs: RunRecord[];
  /** More runs than listed (the list is capped). */
  more: number;
}

export interface DailyReportSections {
  host: Section<HostReport>;
  services: Section<UnitState[]>;
  errors: Section<LogErrors[]>;
  postgres: ({ target: string } & Section<PostgresReport>)[];
  redis: ({ target: string } & Section<RedisReport>)[];
  backups: ({ set: string } & Section<BackupStanding>)[];
  runs: Section<RunsReport>;
}

import type { ArtifactManifest, DrillRecord } from './manifest';
import type { RetentionOutcome } from './retention';
import { copiesText } from './copy-state';

export type { RetentionOutcome };

/** What a backup run did; also what it reports. */
export interface BackupResult {
  set: string;
  copy: string;
  directory: string;
  artifacts: ArtifactManifest[];
  drills: DrillRecord[];
  /**
   * `pending` until the run ends; `passed`: every artifact taken was proven; `failed`: a drill or
   * check failed; `incomplete`: the drills that ran passed but an artifact was never taken, so the
   * copy is not whole; `skipped`: the input turned drills off.
   */
  drill: 'pending' | 'passed' | 'failed' | 'incomplete' | 'skipped';
  retention?: RetentionOutcome;
  /** Every step that failed, in words; a run with any fails (after reporting them). */
  failures: string[];
}

const size = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GB` : `${(bytes / 2 ** 20).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function artifactLine(a: ArtifactManifest): string {
  const what = a.database ? `${a.database.target} (${Object.keys(a.database.tables).length} tables)` : a.kind;
  return `- ${what}: ${a.file} ${size(a.bytes)} in ${secs(a.durationMs)}, sha256 ${a.sha256.slice(0, 12)}…`;
}

function retentionLines(r?: RetentionOutcome): string[] {
  if (!r) return ['- retention: not run'];
  return [
    `- retention: ${r.deleted.length ? `deleted ${r.deleted.join(', ')}` : 'nothing deleted'}; ${copiesText(r.copies)} (${r.verifiedCopies} verified), ${size(r.totalBytes)} in total`,
    ...r.keptExpired.map((k) => `  - ${k}`),
    ...(r.removedUnfinished ?? []).map((n) => `  - ${n}: removed, no finished artifact in it`),
    ...(r.corrupt ? [`  - ${r.corrupt}: not counted as verified`] : []),
  ];
}

/** The short report a successful run sends (sizes, durations, drill result, retention). */
export function backupSuccessText(r: BackupResult): string {
  return [
    `Backup ${r.set} ${r.copy} in ${r.directory}`,
    ...r.artifacts.map(artifactLine),
    ...(r.drill === 'skipped'
      ? ['- restore drill: skipped by the input (this copy is NOT verified)']
      : r.drills.map(
          (d) =>
            `- restore drill ${d.database}: ${d.tables} tables, ${d.rows} rows match; restored in ${d.restoreSeconds} s (RTO)`,
        )),
    ...retentionLines(r.retention),
  ].join('\n');
}

/** What a failed run sends: every failure first, then what did work. */
export function backupFailureText(r: BackupResult): string {
  return [
    `Backup ${r.set} ${r.copy} FAILED:`,
    ...r.failures.map((f) => `- ${f}`),
    '',
    'What did complete:',
    ...r.artifacts.map(artifactLine),
    ...retentionLines(r.retention),
  ].join('\n');
}

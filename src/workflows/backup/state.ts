import type { BackupSetPlan } from '../../domain/backup/input';
import type { ArtifactManifest, DrillRecord } from '../../domain/backup/manifest';
import type { BackupResult, RetentionOutcome } from '../../domain/backup/report';

export type BackupPhase =
  'planning' | 'backing-up' | 'drilling' | 'retention' | 'notifying' | 'done' | 'failed' | 'cancelled';

/** What a backup run answers to `status`. */
export interface BackupStatus extends BackupResult {
  phase: BackupPhase;
  /** The artifact or check being worked on. */
  current?: string;
  notified: string[];
  /** How a run that did not return ended, in words. */
  failure?: string;
}

/**
 * A backup run's state with pure transitions (no Temporal here): every step's outcome lands in it,
 * failures are collected rather than thrown so that the other artifacts are still taken and every
 * failure is reported together.
 */
export class BackupState {
  readonly status: BackupStatus;
  private artifactMissing = false;

  constructor(set: string, copy: string, drill: boolean) {
    this.status = {
      phase: 'planning',
      set,
      copy,
      directory: '',
      artifacts: [],
      drills: [],
      drill: drill ? 'pending' : 'skipped',
      failures: [],
      notified: [],
    };
  }

  planned(plan: BackupSetPlan): void {
    this.status.directory = plan.directory;
  }

  working(phase: BackupPhase, current?: string): void {
    this.status.phase = phase;
    this.status.current = current;
  }

  artifact(m: ArtifactManifest): void {
    this.status.artifacts.push(m);
  }

  drilled(d: DrillRecord): void {
    this.status.drills.push(d);
  }

  /** A step of `phase` that failed: `what` names it ("database app", "config files", "restore drill app"). */
  stepFailed(phase: BackupPhase, what: string, message: string): void {
    this.status.failures.push(`${what}: ${message}`);
    if (phase === 'drilling') this.status.drill = 'failed';
    if (phase === 'backing-up') this.artifactMissing = true;
  }

  retained(r: RetentionOutcome): void {
    this.status.retention = r;
  }

  notified(name: string): void {
    this.status.notified.push(name);
  }

  get failed(): boolean {
    return this.status.failures.length > 0;
  }

  /** The run's result, without the status-only fields. */
  result(): BackupResult {
    const { phase: _p, current: _c, notified: _n, failure: _f, ...result } = this.status;
    return result;
  }

  finish(): void {
    if (this.status.drill === 'pending') this.status.drill = this.artifactMissing ? 'incomplete' : 'passed';
    this.status.phase = this.failed ? 'failed' : 'done';
    this.status.current = undefined;
  }

  ended(kind: 'failed' | 'cancelled', message: string): string {
    const was = this.status.phase;
    this.status.phase = kind;
    this.status.failure = message;
    return `backup ${this.status.set} ${kind} while ${was}`;
  }

  details(): string {
    const s = this.status;
    const head = `**backup ${s.set} ${s.copy}: ${s.phase}${s.current ? ` (${s.current})` : ''}**`;
    const done = s.artifacts.map((a) => a.file);
    return [
      head,
      done.length ? `artifacts: ${done.join(', ')}` : '',
      s.drills.length
        ? `drills passed: ${s.drills.map((d) => `${d.database} in ${d.restoreSeconds} s`).join(', ')}`
        : '',
      ...s.failures.map((f) => `failed: ${f}`),
      s.failure ? `ended: ${s.failure}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}

import type { DailyReportPlan } from '../../domain/report/input';
import type { Section } from '../../domain/diagnostics/findings';

export type DailyReportPhase = 'planning' | 'gathering' | 'storing' | 'sending' | 'done' | 'failed' | 'cancelled';

export interface DailyReportStatus {
  phase: DailyReportPhase;
  date?: string;
  /** Each part gathered so far: ok, or why not. */
  gathered: Record<string, 'ok' | string>;
  stored?: boolean;
  /** Why storing failed (the report is still sent). */
  storeError?: string;
  sent: string[];
  summary?: string;
  failure?: string;
}

export interface DailyReportResult {
  date: string;
  summary: string;
  gathered: Record<string, 'ok' | string>;
  stored: boolean;
  sent: string[];
}

/** The daily report run's state with pure transitions (no Temporal here). */
export class DailyReportState {
  readonly status: DailyReportStatus = { phase: 'planning', gathered: {}, sent: [] };

  planned(plan: DailyReportPlan): void {
    this.status.date = plan.date;
    this.status.phase = 'gathering';
  }

  /** Records a part's outcome under its name and passes the section through. */
  gathered<S extends Section<unknown>>(name: string, s: S): S {
    this.status.gathered[name] = s.ok ? 'ok' : s.error;
    return s;
  }

  rendered(summary: string): void {
    this.status.summary = summary;
  }

  phase(p: DailyReportPhase): void {
    this.status.phase = p;
  }

  stored(ok: boolean, error?: string): void {
    this.status.stored = ok;
    if (error) this.status.storeError = error;
  }

  sent(notifier: string): void {
    this.status.sent.push(notifier);
  }

  finish(): DailyReportResult {
    this.status.phase = 'done';
    const status = this.status;
    return {
      date: status.date!,
      summary: status.summary!,
      gathered: status.gathered,
      stored: status.stored ?? false,
      sent: status.sent,
    };
  }

  ended(kind: 'failed' | 'cancelled', message: string): string {
    const was = this.status.phase;
    this.status.phase = kind;
    this.status.failure = message;
    return `daily report ${kind} while ${was}`;
  }

  details(): string {
    const status = this.status;
    const missing = Object.entries(status.gathered)
      .filter(([, v]) => v !== 'ok')
      .map(([k]) => k);
    return [
      `**daily report ${status.date ?? ''}: ${status.phase}**`,
      status.summary ?? '',
      missing.length ? `not gathered: ${missing.join(', ')}` : '',
      status.failure ? `ended: ${status.failure}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}

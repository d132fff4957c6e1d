import type { DiagnosticsPlan } from '../../domain/diagnostics/input';
import type { DiagnosticsResult, HostFindings, PostgresFindings, Section } from '../../domain/diagnostics/findings';
import { renderDiagnosticsReport } from '../../domain/diagnostics/report';

/** What a diagnostics run answers to `status`: where it is, which parts are in, how it ended. */
export interface DiagnosticsStatus {
  phase: 'collecting' | 'done' | 'failed' | 'cancelled';
  plan: DiagnosticsPlan;
  /** The parts collected so far, by name (`postgres:<target>`, `host`), and whether each worked. */
  collected: Record<string, 'ok' | 'failed'>;
  failure?: string;
}

/** The run's state with pure transitions (no Temporal here), so unit tests drive it directly. */
export class DiagnosticsState {
  readonly status: DiagnosticsStatus;
  private postgres?: Section<PostgresFindings>;
  private host?: Section<HostFindings>;

  constructor(plan: DiagnosticsPlan) {
    this.status = { phase: 'collecting', plan, collected: {} };
  }

  gotPostgres(s: Section<PostgresFindings>): void {
    this.postgres = s;
    this.status.collected[`postgres:${this.status.plan.postgres}`] = s.ok ? 'ok' : 'failed';
  }

  gotHost(s: Section<HostFindings>): void {
    this.host = s;
    this.status.collected.host = s.ok ? 'ok' : 'failed';
  }

  /** The result with its Markdown report; the run is done. */
  finish(collectedAt: string): DiagnosticsResult {
    const { plan } = this.status;
    const result: Omit<DiagnosticsResult, 'markdown'> = {
      collectedAt,
      ...(plan.postgres && this.postgres ? { postgres: { target: plan.postgres, ...this.postgres } } : {}),
      ...(plan.host && this.host ? { host: this.host } : {}),
    };
    this.status.phase = 'done';
    return { ...result, markdown: renderDiagnosticsReport(result) };
  }

  /** A run that did not return; returns the words that go before its failure. */
  ended(kind: 'failed' | 'cancelled', message: string): string {
    this.status.phase = kind;
    this.status.failure = message;
    return `diagnostics ${kind}`;
  }

  /** One line for the Web UI's current details. */
  details(): string {
    const parts = Object.entries(this.status.collected).map(([k, v]) => `${k} ${v}`);
    return `**diagnostics ${this.status.phase}**${parts.length ? `: ${parts.join(', ')}` : ''}${this.status.failure ? ` — ${this.status.failure}` : ''}`;
  }
}

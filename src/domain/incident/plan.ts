import type { SeverityRule, Severity } from './severity';
import type { Rota } from './oncall';
import type { EscalationPolicy } from './escalation';
import type { RemediationConfig } from './runbook';

/** What `planIncident` reads from the worker's config for the workflow: names and rules, no secrets. */
export interface IncidentPlan {
  severityRules: SeverityRule[];
  /** The `severity` label's values to levels; absent in plans recorded before labels were read. */
  severityLabels?: Record<string, Severity>;
  /**
   * Why incidents cannot be stored (no `incident.store`); absent when a store is configured, and
   * in plans recorded before an incident could run without one.
   */
  storeMissing?: string;
  contacts: Record<string, string[]>;
  channels: string[];
  recipients: Record<Severity, string[]>;
  /** Recipients of the P3 business-hours digest. */
  digestRecipients: string[];
  rota: Rota;
  escalation: EscalationPolicy;
  remediation: RemediationConfig;
  warRoomUrl?: string;
  /** Notifier name → kind, so the workflow knows which ones take acknowledge/resolve (PagerDuty). */
  notifierTypes: Record<string, string>;
}

// What people and callers see of an incident run: the `status` query's answer and the result,
// both read from the state and never written to.
import type { IncidentRecord, Outcome } from '../../domain/incident/incident';
import type { OnCall } from '../../domain/incident/oncall';
import { slaVerdict, type SlaVerdict } from '../../domain/incident/postmortem';
import type { IncidentState } from './state';

export interface IncidentStatus extends IncidentRecord {
  onCall?: OnCall;
  slaVerdict: SlaVerdict;
  respondSlaMissed: boolean;
  resolveSlaMissed: boolean;
  pendingApproval?: string;
  runbook: { id: string; kind: string; needsApproval: boolean; outcome?: Outcome }[];
  notified: string[];
  alertsReceived: number;
  /** Why the record is not (yet) in the incident store: not configured, unreachable, or refused. */
  storeProblem?: string;
  /** The diagnostics collected when there is no store to hold them (bounded text). */
  diagnostics?: string;
  /** Set when the run ended without a resolution: failed or cancelled, and why. */
  ended?: IncidentState['ended'];
}

export interface IncidentResult {
  id: string;
  severity: string;
  state: string;
  owner?: string;
  slaVerdict: SlaVerdict;
  timelineEntries: number;
  postmortemStored: boolean;
}

export function incidentStatus(state: IncidentState): IncidentStatus {
  return {
    ...state.record,
    onCall: state.onCall,
    slaVerdict: slaVerdict(state.record),
    respondSlaMissed: state.respondSlaMissed,
    resolveSlaMissed: state.resolveSlaMissed,
    pendingApproval: state.pendingApproval,
    runbook: state.steps.map((s) => ({ id: s.id, kind: s.kind, needsApproval: s.needsApproval, outcome: s.outcome })),
    notified: state.notified,
    alertsReceived: state.alertsReceived,
    storeProblem: state.storeProblem,
    ...(state.diagnostics !== undefined ? { diagnostics: state.diagnostics } : {}),
    ended: state.ended,
  };
}

export function incidentResult(state: IncidentState): IncidentResult {
  const incident = state.record;
  return {
    id: incident.id,
    severity: incident.severity,
    state: incident.state,
    owner: incident.owner,
    slaVerdict: slaVerdict(incident),
    timelineEntries: state.timeline.length,
    postmortemStored: state.storeProblem === undefined,
  };
}

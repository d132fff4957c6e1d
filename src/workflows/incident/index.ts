// What the incident folder offers outside it: the two workflows, the status and result shapes, and the signals.
export { incidentResponseWorkflow } from './workflow';
export { incidentDigestWorkflow } from './digest';
export type { IncidentStatus, IncidentResult } from './status';

// Every workflow the worker registers. Workflow code is deterministic: no I/O, only workflow APIs.
export { healthCheckWorkflow } from './health-check';
export { phasedRolloutWorkflow } from './phased-rollout';
export { dataMigrationWorkflow } from './data-migration';
export { incidentResponseWorkflow } from './incident-response';
export { incidentDigestWorkflow } from './incident-digest';

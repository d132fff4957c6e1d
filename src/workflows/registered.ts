// Every workflow the worker registers, each once: index.ts exports them and sets their options.
export { healthCheckWorkflow } from './health/workflow';
export { phasedRolloutWorkflow } from './rollout/workflow';
export { dataMigrationWorkflow } from './migration/workflow';
export { incidentResponseWorkflow, incidentDigestWorkflow } from './incident';
export { performanceBaselineWorkflow } from './baseline/workflow';
export { diagnosticsWorkflow } from './diagnostics/workflow';
export { backupWorkflow } from './backup/workflow';
export { dailyReportWorkflow } from './report/workflow';
export { readinessCheckWorkflow } from './readiness/workflow';
export { goLiveWorkflow } from './go-live/workflow';
export { userCutoverWorkflow } from './cutover/workflow';
export { deployWorkflow, rollbackDeployWorkflow } from './deploy/workflow';

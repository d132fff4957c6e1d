// Every workflow the worker registers. Workflow code is deterministic: no I/O, only workflow APIs.
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { definitionOptions } from './versioning';
import { healthCheckWorkflow } from './health/workflow';
import { phasedRolloutWorkflow } from './rollout/workflow';
import { dataMigrationWorkflow } from './migration/workflow';
import { incidentResponseWorkflow, incidentDigestWorkflow } from './incident';
import { performanceBaselineWorkflow } from './baseline/workflow';
import { diagnosticsWorkflow } from './diagnostics/workflow';
import { backupWorkflow } from './backup/workflow';
import { dailyReportWorkflow } from './report/workflow';
import { readinessCheckWorkflow } from './readiness/workflow';
import { goLiveWorkflow } from './go-live/workflow';
import { userCutoverWorkflow } from './cutover/workflow';
import { deployWorkflow, rollbackDeployWorkflow } from './deploy/workflow';

export {
  healthCheckWorkflow,
  phasedRolloutWorkflow,
  dataMigrationWorkflow,
  incidentResponseWorkflow,
  incidentDigestWorkflow,
  performanceBaselineWorkflow,
  diagnosticsWorkflow,
  backupWorkflow,
  dailyReportWorkflow,
  readinessCheckWorkflow,
  goLiveWorkflow,
  userCutoverWorkflow,
  deployWorkflow,
  rollbackDeployWorkflow,
};

// Each workflow's versioning behaviour (src/workflows/versioning.ts says which and why).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every workflow's own input type
const workflows: Record<string, (...args: any[]) => Promise<unknown>> = {
  healthCheckWorkflow,
  phasedRolloutWorkflow,
  dataMigrationWorkflow,
  incidentResponseWorkflow,
  incidentDigestWorkflow,
  performanceBaselineWorkflow,
  diagnosticsWorkflow,
  backupWorkflow,
  dailyReportWorkflow,
  readinessCheckWorkflow,
  goLiveWorkflow,
  userCutoverWorkflow,
  deployWorkflow,
  rollbackDeployWorkflow,
};
// Asked once per run when a worker first loads it, after workflowInfo() is known.
for (const [name, fn] of Object.entries(workflows))
  setWorkflowOptions(() => definitionOptions(name, workflowInfo().currentDeploymentVersion), fn);

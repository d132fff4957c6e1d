// Every workflow the worker registers. Workflow code is deterministic: no I/O, only workflow APIs.
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { definitionOptions } from './versioning';
import * as workflows from './registered';

export * from './registered';

// Each workflow's versioning behaviour (src/workflows/versioning.ts says which and why), asked once
// per run when a worker first loads it, after workflowInfo() is known.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every workflow's own input type
for (const [name, fn] of Object.entries(workflows) as [string, (...args: any[]) => Promise<unknown>][])
  setWorkflowOptions(() => definitionOptions(name, workflowInfo().currentDeploymentVersion), fn);

import * as workflows from '../../src/workflows';
import { workflowEntries } from '../../src/client/registry';
import { workflowTypes } from '../../src/domain/workflow-types';

// The domain's list of workflow types is what the daily report counts as opsflow's runs; it must
// name exactly the workflows the worker registers and the CLI knows.
test('the domain names every registered workflow type, and the registry has an entry for each', () => {
  expect([...workflowTypes].sort()).toEqual(Object.keys(workflows).sort());
  expect(workflowEntries.map((entry) => entry.type).sort()).toEqual([...workflowTypes].sort());
});

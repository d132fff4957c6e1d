import { listQuery, formatRuns } from '../../src/client/run-list';

describe('opsflow list: filters to a visibility query, rows to a table', () => {
  test('each filter is one clause, a type by its alias too, ANDed with a given query', () => {
    expect(listQuery({})).toBeUndefined();
    expect(listQuery({ type: 'phased-rollout', service: 'checkout', state: 'awaiting-approval', status: 'running', query: "OpsflowStep='1/3'" })).toBe(
      "WorkflowType = 'phasedRolloutWorkflow' AND OpsflowService = 'checkout' AND OpsflowState = 'awaiting-approval' AND ExecutionStatus = 'Running' AND (OpsflowStep='1/3')",
    );
    expect(listQuery({ type: 'deployWorkflow', status: 'cancelled' })).toBe("WorkflowType = 'deployWorkflow' AND ExecutionStatus = 'Canceled'");
  });

  test('a bad filter names the flag; a quote can never reach the query', () => {
    expect(() => listQuery({ type: 'nope' })).toThrow('--type: unknown workflow "nope"');
    expect(() => listQuery({ status: 'sleeping' })).toThrow(/^--status: one of running, completed, failed, canceled, terminated, timed-out, continued-as-new$/);
    expect(() => listQuery({ service: "x' OR WorkflowType != '" })).toThrow('--service: a name without quotes or backslashes');
  });

  test('rows are aligned under a header', () => {
    const row = { workflowId: 'rollout-shop', type: 'phased-rollout', service: 'shop', state: 'monitoring', step: '1/3', status: 'running', started: '2026-12-07 10:00:00Z', closed: '-' };
    const lines = formatRuns([row, { ...row, workflowId: 'deploy-shop-long-id', type: 'deploy' }]).split('\n');
    expect(lines[0]).toMatch(/^WORKFLOW ID\s+TYPE\s+SERVICE\s+STATUS\s+STATE\s+STEP\s+STARTED\s+CLOSED$/);
    expect(lines[1].indexOf('phased-rollout')).toBe(lines[0].indexOf('TYPE'));
    expect(lines[2].indexOf('deploy ')).toBe(lines[0].indexOf('TYPE'));
  });
});

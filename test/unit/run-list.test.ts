import { TypedSearchAttributes } from '@temporalio/common';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { listQuery, formatRuns, runRow } from '../../src/client/run-list';
import { OpsflowPhase, OpsflowService, OpsflowState, OpsflowStep } from '../../src/domain/search-attributes';

describe('opsflow list: filters to a visibility query, rows to a table', () => {
  test('each filter is one clause, a type by its alias too, ANDed with a given query', () => {
    expect(listQuery({})).toBeUndefined();
    expect(
      listQuery({
        type: 'phased-rollout',
        service: 'checkout',
        state: 'awaiting-approval',
        status: 'running',
        query: "OpsflowStep='1/3'",
      }),
    ).toBe(
      "WorkflowType = 'phasedRolloutWorkflow' AND OpsflowService = 'checkout' AND (OpsflowState = 'awaiting-approval' OR OpsflowPhase = 'awaiting-approval') AND ExecutionStatus = 'Running' AND (OpsflowStep='1/3')",
    );
    expect(listQuery({ type: 'deployWorkflow', status: 'cancelled' })).toBe(
      "WorkflowType = 'deployWorkflow' AND ExecutionStatus = 'Canceled'",
    );
  });

  test('a bad filter names the flag; a quote can never reach the query', () => {
    expect(() => listQuery({ type: 'nope' })).toThrow('--type: unknown workflow "nope"');
    expect(() => listQuery({ status: 'sleeping' })).toThrow(
      /^--status: one of running, completed, failed, canceled, terminated, timed-out, continued-as-new$/,
    );
    expect(() => listQuery({ service: "x' OR WorkflowType != '" })).toThrow(
      '--service: a name without quotes or backslashes',
    );
  });

  test('rows are aligned under a header', () => {
    const row = {
      workflowId: 'rollout-shop',
      type: 'phased-rollout',
      service: 'shop',
      state: 'monitoring',
      step: '1/3',
      status: 'running',
      started: '2026-12-07 10:00:00Z',
      closed: '-',
    };
    const lines = formatRuns([row, { ...row, workflowId: 'deploy-shop-long-id', type: 'deploy' }]).split('\n');
    expect(lines[0]).toMatch(/^WORKFLOW ID\s+TYPE\s+SERVICE\s+STATUS\s+STATE\s+STEP\s+STARTED\s+CLOSED$/);
    expect(lines[1].indexOf('phased-rollout')).toBe(lines[0].indexOf('TYPE'));
    expect(lines[2].indexOf('deploy ')).toBe(lines[0].indexOf('TYPE'));
  });

  test("a row's state is the run's OpsflowState, or its OpsflowPhase for the workflows that keep a phase", () => {
    const info = (type: string, pairs: ConstructorParameters<typeof TypedSearchAttributes>[0]) =>
      ({
        workflowId: 'w',
        type,
        status: { name: 'RUNNING' },
        startTime: new Date('2026-12-07T10:00:00Z'),
        typedSearchAttributes: new TypedSearchAttributes(pairs),
      }) as unknown as WorkflowExecutionInfo;
    expect(
      runRow(
        info('readinessCheckWorkflow', [
          { key: OpsflowService, value: 'shop' },
          { key: OpsflowPhase, value: 'waiting' },
        ]),
      ),
    ).toMatchObject({
      type: 'readiness',
      service: 'shop',
      state: 'waiting',
      step: '-',
      status: 'running',
      started: '2026-12-07 10:00:00Z',
      closed: '-',
    });
    expect(
      runRow(
        info('phasedRolloutWorkflow', [
          { key: OpsflowState, value: 'monitoring' },
          { key: OpsflowStep, value: '1/2 10%' },
        ]),
      ),
    ).toMatchObject({ state: 'monitoring', step: '1/2 10%', service: '-' });
    expect(runRow(info('healthCheckWorkflow', [])).state).toBe('-');
  });
});

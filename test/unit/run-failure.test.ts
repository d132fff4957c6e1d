import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { awaitResult, describeRunFailure, RunFailed } from '../../src/client/run-failure';

const verification = {
  pass: false,
  sourceRows: 100,
  targetRows: 101,
  chunksVerified: 1,
  missingByAntiJoin: 0,
  mismatches: {
    chunks: [0],
    missing: { count: 25, keys: ['1', '2'] },
    extra: { count: 0, keys: [] },
    differing: { count: 1, keys: ['7'] },
  },
};

describe('what the CLI says about a failed run', () => {
  test('the message and each cause with its type, innermost last', () => {
    const inner = ApplicationFailure.nonRetryable('target.database: unknown database "x"', 'UnknownDatabase');
    const activity = new ActivityFailure(
      'Activity task failed',
      'preflightMigration',
      '3',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      inner,
    );
    const top = ApplicationFailure.create({
      message: 'preflight failed',
      type: 'MigrationFailed',
      nonRetryable: true,
      cause: activity,
    });
    expect(
      describeRunFailure(
        'm-1',
        new WorkflowFailedError('Workflow execution failed', top, RetryState.NON_RETRYABLE_FAILURE),
      ),
    ).toBe(
      [
        'workflow m-1 failed: ApplicationFailure MigrationFailed (non-retryable): preflight failed',
        '  caused by ActivityFailure (activity preflightMigration, retry state NON_RETRYABLE_FAILURE): Activity task failed',
        '  caused by ApplicationFailure UnknownDatabase (non-retryable): target.database: unknown database "x"',
      ].join('\n'),
    );
  });

  test('a verification in the failure details: the keys, and how many there are beyond those listed', () => {
    const failure = ApplicationFailure.nonRetryable('verification failed', 'VerificationFailed', verification);
    expect(
      describeRunFailure(
        'm-2',
        new WorkflowFailedError('Workflow execution failed', failure, RetryState.NON_RETRYABLE_FAILURE),
      )
        .split('\n')
        .slice(1),
    ).toEqual([
      'verification FAILED: source rows 100, target rows 101; the keys the run found:',
      '  missing in the target (25, first 2): 1, 2',
      '  differing (1): 7',
      '  in chunks 0',
    ]);
  });

  test('a result that reports a failed verification is printed, then fails with the keys', async () => {
    const printed: unknown[] = [];
    const run = awaitResult(
      'm-3',
      async () => ({ name: 'm', verification }),
      (v) => printed.push(v),
    );
    await expect(run).rejects.toBeInstanceOf(RunFailed);
    await expect(run).rejects.toThrow(
      'workflow m-3 completed, but its verification failed\nverification FAILED: source rows 100',
    );
    expect(printed).toEqual([{ name: 'm', verification }]);
    await expect(
      awaitResult(
        'm-4',
        async () => ({ verification: { ...verification, pass: true } }),
        () => undefined,
      ),
    ).resolves.toBeUndefined();
  });
});

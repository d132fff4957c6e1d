import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { failureMessage, isNonRetryable, workflowFailure } from '../../src/workflows/common/failure';

const activity = (cause?: Error, type = 'openMigrationLog') =>
  new ActivityFailure('Activity task failed', type, '1', RetryState.NON_RETRYABLE_FAILURE, 'worker@host', cause);

describe('failureMessage: the reason in words, not the SDK wrapper', () => {
  test('an activity failure says what the activity said, not "Activity task failed"', () => {
    const err = activity(
      ApplicationFailure.nonRetryable(
        'target.database: unknown database "nope" (not in config.postgres; known: app)',
        'UnknownDatabase',
      ),
    );
    expect(failureMessage(err)).toBe('target.database: unknown database "nope" (not in config.postgres; known: app)');
  });

  test('a child workflow failure keeps its cause chain words, in order, without the wrappers', () => {
    const inner = activity(
      ApplicationFailure.nonRetryable('LB API lb-api refused the token: HTTP 401', 'LoadBalancerAuth'),
      'setTrafficSplit',
    );
    const child = new ChildWorkflowFailure(
      'default',
      { workflowId: 'rollout-x', runId: 'r' },
      'phasedRolloutWorkflow',
      RetryState.NON_RETRYABLE_FAILURE,
      ApplicationFailure.create({ message: 'rollback failed', cause: inner }),
    );
    expect(failureMessage(child)).toBe('rollback failed: LB API lb-api refused the token: HTTP 401');
  });

  test("an application failure keeps its own words and its cause's; a repeat is said once", () => {
    const cause = ApplicationFailure.create({ message: 'connect ECONNREFUSED 127.0.0.1:5' });
    expect(failureMessage(ApplicationFailure.create({ message: 'could not open the log', cause }))).toBe(
      'could not open the log: connect ECONNREFUSED 127.0.0.1:5',
    );
    expect(failureMessage(ApplicationFailure.create({ message: 'x: connect ECONNREFUSED 127.0.0.1:5', cause }))).toBe(
      'x: connect ECONNREFUSED 127.0.0.1:5',
    );
  });

  test('timeouts and cancellations say so; a wrapper with no cause names the activity', () => {
    expect(
      failureMessage(
        activity(new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE)),
      ),
    ).toBe('activity StartToClose timeout');
    expect(failureMessage(new CancelledFailure('Workflow cancelled'))).toBe('Workflow cancelled');
    expect(failureMessage(activity(undefined, 'notify'))).toBe('activity notify failed');
    expect(failureMessage('plain words')).toBe('plain words');
  });

  test('nonRetryable is found on the failure or under its wrapper', () => {
    expect(isNonRetryable(activity(ApplicationFailure.nonRetryable('no')))).toBe(true);
    expect(isNonRetryable(activity(ApplicationFailure.retryable('later')))).toBe(false);
  });
});

describe('workflowFailure: what a workflow fails with', () => {
  test('an activity failure becomes a non-retryable ApplicationFailure whose message is the reason, the original kept as cause', () => {
    const original = activity(
      ApplicationFailure.nonRetryable('webhook chat-broken answered HTTP 403: channel archived', 'NotifierRejected'),
      'notify',
    );
    const f = workflowFailure(original, 'migration m failed in preflight') as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.message).toBe('migration m failed in preflight: webhook chat-broken answered HTTP 403: channel archived');
    expect(f.type).toBe('ActivityFailed');
    expect(f.nonRetryable).toBe(true);
    expect(f.cause).toBe(original);
  });

  test("the workflow's own ApplicationFailures, cancellations and plain errors (bugs) pass unchanged", () => {
    const own = ApplicationFailure.nonRetryable('rollout rolled back', 'RolloutRolledBack', { step: 1 });
    expect(workflowFailure(own, 'ignored')).toBe(own);
    const cancelled = new CancelledFailure('cancelled');
    expect(workflowFailure(cancelled)).toBe(cancelled);
    const bug = new TypeError('x is undefined');
    expect(workflowFailure(bug)).toBe(bug);
  });
});

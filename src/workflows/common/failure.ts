import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  isCancellation,
} from '@temporalio/workflow';

/** Bounded: a cause chain is short, but a message must never be built from an unbounded one. */
const MAX_DEPTH = 8;

/**
 * What went wrong, in words: the messages along a failure's cause chain, joined with ": ", with
 * the SDK's wrappers ("Activity task failed", "Child Workflow execution failed") left out because
 * they say nothing the words under them do not. A timeout says which timeout; a wrapper with no
 * cause keeps its own message (and names the activity or child), so the result is never empty.
 * Workflow-safe: no I/O, only the failure objects the SDK hands to workflow code.
 */
export function failureMessage(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < MAX_DEPTH; depth++) {
    const words = ownWords(e, parts.length === 0);
    if (words && !parts.some((p) => p.includes(words))) parts.push(words);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(err);
}

function ownWords(e: unknown, outermost: boolean): string | undefined {
  const hasCause = (e as { cause?: unknown }).cause != null;
  if (e instanceof ActivityFailure) return hasCause ? undefined : `activity ${e.activityType} failed`;
  if (e instanceof ChildWorkflowFailure)
    return hasCause ? undefined : `child workflow ${e.execution.workflowId} (${e.workflowType}) failed`;
  if (e instanceof TimeoutFailure) return e.message || 'timed out';
  if (e instanceof CancelledFailure) return e.message || 'cancelled';
  if (e instanceof TerminatedFailure) return e.message || 'terminated';
  if (e instanceof Error) return e.message || (outermost ? e.name : undefined);
  if (typeof e === 'string') return e;
  return undefined;
}

/** A failure no retry of the same step can fix (its own flag, or that of the failure it wraps). */
export function isNonRetryable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < MAX_DEPTH; depth++) {
    if (e instanceof ApplicationFailure && e.nonRetryable) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The failure a workflow ends with: its own ApplicationFailures as they are (their type and
 * details are part of the result), anything else from Temporal (an activity or child that failed,
 * a timeout) as a non-retryable ApplicationFailure whose message carries the cause's words, the
 * original kept as its cause. Anything that is not a Temporal failure is a bug in workflow code:
 * it is returned unchanged, so the workflow task fails and waits for a fixed worker.
 */
export function workflowFailure(err: unknown, context?: string): unknown {
  if (err instanceof ApplicationFailure || isCancellation(err)) return err;
  if (!(err instanceof TemporalFailure)) return err;
  const type =
    err instanceof ActivityFailure
      ? 'ActivityFailed'
      : err instanceof ChildWorkflowFailure
        ? 'ChildWorkflowFailed'
        : err.name;
  const words = failureMessage(err);
  return ApplicationFailure.create({
    message: context ? `${context}: ${words}` : words,
    type,
    nonRetryable: true,
    cause: err,
  });
}

import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
} from '@temporalio/common';

/** A run ended badly: the message says why (exit 1). */
export class RunFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailed';
  }
}

/** One failure of a chain: what kind it is, with the fields that say where it came from. */
function label(e: Error): string {
  if (e instanceof ApplicationFailure)
    return `ApplicationFailure${e.type ? ` ${e.type}` : ''}${e.nonRetryable ? ' (non-retryable)' : ''}`;
  if (e instanceof ActivityFailure) return `ActivityFailure (activity ${e.activityType}, retry state ${e.retryState})`;
  if (e instanceof ChildWorkflowFailure) return `ChildWorkflowFailure (${e.workflowType} ${e.execution.workflowId})`;
  if (e instanceof TimeoutFailure) return `TimeoutFailure ${e.timeoutType}`;
  return e.name || 'Error';
}

interface KeyList {
  count: number;
  keys: string[];
}
interface VerificationLike {
  pass: boolean;
  sourceRows?: number;
  targetRows?: number;
  mismatches?: { chunks?: number[]; missing?: KeyList; extra?: KeyList; differing?: KeyList };
}

function isVerification(v: unknown): v is VerificationLike {
  return typeof v === 'object' && v !== null && typeof (v as VerificationLike).pass === 'boolean' && 'mismatches' in v;
}

/** A migration verification's findings: the keys it found missing, extra or differing in the target. */
function verificationFindings(v: VerificationLike): string[] {
  const m = v.mismatches ?? {};
  const found = [m.missing, m.extra, m.differing].some((l) => l && l.count > 0);
  const lines = [
    `verification ${v.pass ? 'passed' : 'FAILED'}: source rows ${v.sourceRows ?? '?'}, target rows ${v.targetRows ?? '?'}` +
      (found ? '; the keys the run found:' : ''),
  ];
  for (const [what, list] of [
    ['missing in the target', m.missing],
    ['extra in the target', m.extra],
    ['differing', m.differing],
  ] as const) {
    if (!list || list.count === 0) continue;
    const shown = list.count > list.keys.length ? `, first ${list.keys.length}` : '';
    lines.push(`  ${what} (${list.count}${shown}): ${list.keys.join(', ')}`);
  }
  if (m.chunks?.length) lines.push(`  in chunks ${m.chunks.join(', ')}`);
  return lines;
}

/**
 * Why a run failed, for people: the failure's message and every cause under it with its type,
 * and where a failure carries a migration verification, the keys it found.
 */
export function describeRunFailure(workflowId: string, err: WorkflowFailedError): string {
  const chain: Error[] = [];
  for (let e = err.cause; e && chain.length < 20; e = (e as { cause?: Error }).cause) chain.push(e);
  if (!chain.length) return `workflow ${workflowId} failed: ${err.message}`;
  const [top, ...causes] = chain;
  const lines = [
    `workflow ${workflowId} failed: ${label(top)}: ${top.message}`,
    ...causes.map((c) => `  caused by ${label(c)}: ${c.message}`),
  ];
  for (const e of chain) {
    const details = e instanceof ApplicationFailure ? (e.details ?? []) : [];
    for (const d of details) if (isVerification(d)) lines.push(...verificationFindings(d));
  }
  return lines.join('\n');
}

/**
 * A cancelled run: a cancellation carries no words, so what the run itself recorded on its way out
 * (what it rolled back and what the system read back) is said, when it recorded anything.
 */
function describeCancelledRun(workflowId: string, ending?: unknown): string {
  return typeof ending === 'string' && ending
    ? `workflow ${workflowId}: ${ending}`
    : `workflow ${workflowId} was cancelled`;
}

/**
 * Waits for a run's result. A failed run becomes RunFailed naming its causes, a cancelled one
 * saying what it left behind (`ending` reads what the run recorded); a result that reports a
 * failed verification is printed and then also fails, with the keys.
 */
export async function awaitResult(
  workflowId: string,
  result: () => Promise<unknown>,
  print: (v: unknown) => void,
  ending: () => Promise<unknown> = async () => undefined,
): Promise<void> {
  let value: unknown;
  try {
    value = await result();
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
      throw new RunFailed(describeCancelledRun(workflowId, await ending().catch(() => undefined)));
    }
    if (err instanceof WorkflowFailedError) throw new RunFailed(describeRunFailure(workflowId, err));
    throw err;
  }
  print(value);
  const verification = (value as { verification?: unknown } | null)?.verification;
  if (isVerification(verification) && !verification.pass) {
    throw new RunFailed(
      [`workflow ${workflowId} completed, but its verification failed`, ...verificationFindings(verification)].join(
        '\n',
      ),
    );
  }
}

// Why: when an operator's action is refused, decided purely from what the run shows (an Update's
// validator runs before history, so a refusal is never recorded), and who counts as an approver.
import type { ApprovalRule } from '../../domain/approval';
import type { Actor, OperatorCarry, OperatorSignal, PendingApproval } from './operator-carry';
import type { OperatorInput } from './messages';

/** What the validators look at: the controls' state, the wait in progress, the run's state word. */
export interface ControlsView extends OperatorCarry {
  /** The step whose approval is awaited now. */
  awaiting?: number | string;
  /** A hold is waiting for a resume. */
  held: boolean;
  /** The run's state, for the refusal's words ("monitoring"). */
  state?: string;
  /** The rule of the approval awaited now (none: one person, anyone). */
  rule?: ApprovalRule;
}

/** The people who approved `step` and count under `rule` (distinct; the starter and the unnamed not, when it forbids the starter). */
export function approversOf(
  pending: readonly PendingApproval[],
  step: number | string,
  rule?: ApprovalRule,
  startedBy?: string,
): string[] {
  const people = new Set<string>();
  for (const a of pending) {
    if (a.step !== undefined && a.step !== step) continue;
    if (rule?.forbidStarter && (!a.by || a.by === startedBy)) continue;
    people.add(a.by ?? '');
  }
  return [...people];
}

/** "approved so far: alice (1 of 2)" for a rule of more than one person; "" otherwise. */
function soFarWords(view: ControlsView, step: number | string): string {
  const rule = view.rule;
  if (!rule || (rule.approvers <= 1 && !rule.forbidStarter)) return '';
  const people = approversOf(view.pendingApprovals, step, rule, view.startedBy).filter(Boolean);
  return `; approved so far: ${people.length ? people.join(', ') : 'nobody'} (${people.length} of ${rule.approvers})`;
}

const actorWords = (a: Actor | undefined) => `${a?.by ? ` by ${a.by}` : ''}${a?.at ? ` at ${a.at}` : ''}`;
const stateWords = (state?: string) => (state ? ` (state: ${state})` : '');
const isLater = (step: number | string, last?: number | string) =>
  last === undefined ? true : typeof step === 'number' && typeof last === 'number' ? step > last : step !== last;

/**
 * Why `action` with `input` is refused now, or undefined when it is accepted. Pure: the Update's
 * validator, so a refusal never reaches history.
 */
export function refusal(action: OperatorSignal, input: OperatorInput, view: ControlsView): string | undefined {
  const aborted = view.aborted;
  const abortedWords = aborted && `already aborted${actorWords(aborted)}: ${aborted.reason}`;
  switch (action) {
    case 'approve': {
      if (abortedWords) return abortedWords;
      const step = input.step ?? view.awaiting;
      const ruled = step !== undefined && step === view.awaiting ? view.rule : undefined;
      const soFar = ruled && step !== undefined ? soFarWords(view, step) : '';
      if (ruled?.forbidStarter && !input.by)
        return `by: who approves must be named: step ${step} may not be approved by the person who started the run${soFar}`;
      if (ruled?.forbidStarter && input.by === view.startedBy)
        return `${input.by} started this run and may not approve step ${step} (forbidStarter)${soFar}`;
      const same = step !== undefined && (view.approvals ?? []).find((a) => a.step === step && a.by === input.by);
      if (same) return `step ${step} already approved${actorWords(same)}${soFar}`;
      if (view.awaiting === undefined) {
        if (input.step === undefined || !isLater(input.step, view.lastAwaited))
          return `not waiting for approval${stateWords(view.state)}`;
      } else if (typeof input.step === 'number' && typeof view.awaiting === 'number' && input.step < view.awaiting) {
        return `step ${input.step} is past: waiting for approval of step ${view.awaiting}`;
      }
      return undefined;
    }
    case 'pause':
      if (abortedWords) return abortedWords;
      return view.paused ? `already paused${actorWords(view.pausedBy)}` : undefined;
    case 'resume':
      if (abortedWords) return abortedWords;
      return view.paused || view.held ? undefined : `not paused and not held${stateWords(view.state)}`;
    case 'abort':
      return abortedWords;
  }
}

/** The words of a signal no handler knows, for the run's decisions. */
export function ignoredSignalText(name: string, workflowType: string, known: readonly string[]): string {
  return `ignored signal "${name}": not a signal of ${workflowType} (known: ${known.join(', ')})`;
}

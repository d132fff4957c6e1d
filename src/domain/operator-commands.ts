// Why: a run that waits on a person says which command moves it on, in the same words wherever it
// is read (the Web UI's timeline and current details, `opsflow status`), so the words live once.

/** A shell word: quoted only when it needs to be (opsflow's own ids never do). */
function word(s: string): string {
  return /^[\w.:@/+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `opsflow` command line that does `verb` to the run `workflowId`: `opsflow approve rollout-checkout-api`. */
export function opsflowCommand(verb: string, workflowId: string, ...args: string[]): string {
  return ['opsflow', verb, word(workflowId), ...args.map(word)].join(' ');
}

/** "awaiting approval of step 1/3 (10 %) — `opsflow approve rollout-checkout-api`": a timer's summary and a details line. */
export function approvalWaitText(what: string, workflowId: string, ...args: string[]): string {
  return `awaiting approval of ${what} — \`${opsflowCommand('approve', workflowId, ...args)}\``;
}

/** Who did something and when, as the operator controls keep it. */
export interface ActorRef {
  by?: string;
  at?: string;
}

/** "paused by ann at … — `opsflow resume rollout-checkout-api`". */
export function pausedText(workflowId: string, by?: ActorRef): string {
  return `paused${by?.by ? ` by ${by.by}` : ''}${by?.at ? ` at ${by.at}` : ''} — \`${opsflowCommand('resume', workflowId)}\``;
}

/** A hold: the run waits for a person to resume (or abort) before its own deadline rolls it back. */
export function heldText(workflowId: string, why?: string): string {
  return `held for a person${why ? ` (${why})` : ''} — \`${opsflowCommand('resume', workflowId)}\` or \`${opsflowCommand('abort', workflowId, '--reason', '…')}\``;
}

/** "awaiting approval of runbook step restart — `opsflow approve incident-x --step restart`": an incident's step is named. */
export function stepApprovalWaitText(what: string, workflowId: string, step: string): string {
  return `awaiting approval of ${what} — \`${opsflowCommand('approve', workflowId, '--step', step)}\``;
}

/** The command that signs off a readiness item (an Update; `--by` defaults to the OS user). */
export function signOffCommand(workflowId: string, item: string): string {
  return opsflowCommand('sign-off', workflowId, '--item', item);
}

/** The command that re-runs a readiness gate's automated checks (a signal). */
export function recheckCommand(workflowId: string): string {
  return `opsflow signal ${word(workflowId)} recheck`;
}

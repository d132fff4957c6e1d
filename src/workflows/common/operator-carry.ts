// Why: what an operator's say over a run is made of, as plain data: it crosses continue-as-new as
// is, and the pure rules (operator-refusal.ts), the transitions (operator-state.ts) and the status
// records of every long workflow read the same shapes.

/** The four actions every long run answers. */
export type OperatorSignal = 'approve' | 'pause' | 'resume' | 'abort';

/** An approve not yet used: for a named step, or (no step) for whichever step waits next. */
export interface PendingApproval {
  step?: number | string;
  /** Who gave it: a rule of N approvers counts distinct people. */
  by?: string;
}

export interface Abort {
  reason: string;
  by?: string;
  at?: string;
}

/** An approval awaited under a rule: the step, how many people it needs, who approved so far, who may not. */
export interface ApprovalProgress {
  /** A batch or step number, or a named wait (a deploy's stuck drain: "drain-h1"). */
  step: number | string;
  needed: number;
  approvedBy: string[];
  /** The starter, when the rule forbids them. */
  forbidStarter?: string;
}

/** Who did something and when (workflow time). */
export interface Actor {
  by?: string;
  at?: string;
}

/** An approve as it was given: the step it was for (resolved when one was awaited), who, when. */
export interface ApprovalRecord extends Actor {
  step?: number | string;
}

/** What crosses continue-as-new; plain data. */
export interface OperatorCarry {
  paused: boolean;
  pendingApprovals: PendingApproval[];
  aborted?: Abort;
  /** Who paused, when (while paused). */
  pausedBy?: Actor;
  /** The approvals given, newest last (bounded). */
  approvals?: ApprovalRecord[];
  /** The last step whose approval wait ended: an approve naming it (or an earlier one) is late. */
  lastAwaited?: number | string;
  /** Who started the run (its memo), kept here so a continued run still knows. */
  startedBy?: string;
}

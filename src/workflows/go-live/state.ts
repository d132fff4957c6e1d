// Why: a go-live's state (every stage with its child, what it achieved or why it failed, and what
// stays changed) with pure transitions, so the order and stop rules are unit-tested without Temporal.
import { DecisionLog } from '../common/decision-log';
import type { StageName } from '../../domain/go-live/input';
import type { OperatorInput } from '../common/messages';
import type { Actor, ApprovalProgress } from '../common/operator-carry';
import { approvalWaitText, pausedText } from '../../domain/operator-commands';

const MAX_DECISIONS = 100;

type StageState = 'pending' | 'awaiting-approval' | 'running' | 'succeeded' | 'failed' | 'not-run';

export interface StageStatus {
  stage: StageName;
  /** The child's id: its own history and Web UI page; its `status` query answers for the stage's detail. */
  workflowId: string;
  runId?: string;
  state: StageState;
  /** What the stage achieved, in words. */
  outcome?: string;
  failure?: string;
}

export type GoLivePhase = 'running' | 'live' | 'stopped' | 'failed' | 'cancelled';

export interface GoLiveStatus {
  service: string;
  phase: GoLivePhase;
  stages: StageStatus[];
  current?: StageName;
  /** The stage the run stopped at, and why. */
  stoppedAt?: { stage: StageName; reason: string };
  /** Changes completed stages made that stay in place (a migration is never undone silently). */
  stays: string[];
  paused: boolean;
  /** Who paused it and when, while paused. */
  pausedBy?: Actor;
  /** While a stage waits under a rule of several approvers or forbidding the starter: who approved so far, of how many. */
  approvals?: ApprovalProgress;
  decisions: string[];
}

export class GoLiveRun {
  readonly status: GoLiveStatus;
  private readonly log: DecisionLog<string>;

  constructor(service: string, stages: { stage: StageName; workflowId: string }[]) {
    this.status = {
      service,
      phase: 'running',
      stages: stages.map((s) => ({ ...s, state: 'pending' })),
      stays: [],
      paused: false,
      decisions: [],
    };
    this.log = new DecisionLog(this.status.decisions, MAX_DECISIONS);
  }

  decide(text: string): void {
    this.log.add(text);
  }

  stage(name: StageName): StageStatus {
    const s = this.status.stages.find((x) => x.stage === name);
    if (!s) throw new Error(`stage: ${name} is not part of this go-live`);
    return s;
  }

  awaitingApproval(name: StageName): void {
    this.stage(name).state = 'awaiting-approval';
    this.status.current = name;
    this.decide(`waiting for approval to start ${name}`);
  }

  /** Approved (or the wait ended by an abort): the stage no longer waits for a person, whatever holds it next. */
  approvalEnded(name: StageName): void {
    const s = this.stage(name);
    if (s.state === 'awaiting-approval') s.state = 'pending';
  }

  started(name: StageName, runId: string): void {
    const s = this.stage(name);
    s.state = 'running';
    s.runId = runId;
    this.status.current = name;
    this.decide(`${name} started as child ${s.workflowId}`);
  }

  succeeded(name: StageName, outcome: string, stays?: string): void {
    const s = this.stage(name);
    s.state = 'succeeded';
    s.outcome = outcome;
    if (stays) this.status.stays.push(stays);
    this.decide(`${name} succeeded: ${outcome}`);
  }

  /** The first failure stops the run; every later stage is not run. */
  failed(name: StageName, reason: string, stays?: string): void {
    const s = this.stage(name);
    s.state = 'failed';
    s.failure = reason;
    if (stays) this.status.stays.push(stays);
    this.stop(name, reason);
  }

  /** Stops before or at `name`: it and every stage still pending are not run (a failed one stays failed). */
  stop(name: StageName, reason: string): void {
    this.status.stoppedAt = { stage: name, reason };
    for (const s of this.status.stages)
      if (s.state === 'pending' || s.state === 'awaiting-approval') s.state = 'not-run';
    this.status.phase = 'stopped';
    this.status.current = undefined;
    this.decide(`stopped at ${name}: ${reason}`);
  }

  live(): void {
    this.status.phase = 'live';
    this.status.current = undefined;
    this.decide(`${this.status.service} is live: ${this.status.stages.map((s) => s.stage).join(' → ')} done`);
  }

  /** The run's failure message: which stage, why, and what stays. */
  stopMessage(): string {
    const at = this.status.stoppedAt!;
    return (
      `go-live of ${this.status.service} stopped at ${at.stage}: ${at.reason}` +
      (this.status.stays.length
        ? `. Stays in place: ${this.status.stays.join('; ')}`
        : '. Nothing was changed by an earlier stage')
    );
  }

  end(kind: 'failed' | 'cancelled', message: string): GoLivePhase {
    const was = this.status.phase;
    if (was !== 'stopped') this.status.phase = kind;
    if (!this.status.stoppedAt && this.status.current) this.stop(this.status.current, message);
    return was;
  }

  /** Paused, and the go-live has not ended whatever the pause. */
  get pauseHolds(): boolean {
    return this.status.paused && this.status.phase === 'running';
  }

  /** What the go-live waits on a person for, with the command that answers it; undefined when nobody. */
  waitingOn(workflowId: string): string | undefined {
    const s = this.status;
    if (s.phase !== 'running') return undefined;
    const awaiting = s.stages.find((x) => x.state === 'awaiting-approval');
    if (awaiting) return approvalWaitText(`stage ${awaiting.stage}`, workflowId);
    if (s.paused) return pausedText(workflowId, s.pausedBy);
    return undefined;
  }

  /** Markdown for the Web UI's current details; with the run's id, what it waits on and the command. */
  details(workflowId?: string): string {
    const s = this.status;
    const waiting = workflowId === undefined ? undefined : this.waitingOn(workflowId);
    const lines = [
      `**Go-live of ${s.service}: ${s.phase}${s.current ? ` (${s.current})` : ''}${s.paused ? ', paused' : ''}**`,
      ...(waiting ? [`**${waiting}**`] : []),
    ];
    for (const st of s.stages)
      lines.push(
        `- ${st.stage} (${st.workflowId}): ${st.state}${st.outcome ? ` — ${st.outcome}` : ''}${st.failure ? ` — ${st.failure}` : ''}`,
      );
    if (s.stays.length) lines.push(`Stays in place: ${s.stays.join('; ')}`);
    return lines.join('\n');
  }
}

/** The report at the end: every stage and what stays. */
export function renderGoLiveReport(status: GoLiveStatus): string {
  const lines = [
    `# Go-live of ${status.service}: ${status.phase === 'live' ? 'LIVE' : `STOPPED at ${status.stoppedAt?.stage ?? '?'}`}`,
    '',
    '| Stage | Child | State | Outcome |',
    '|---|---|---|---|',
  ];
  for (const st of status.stages)
    lines.push(
      `| ${st.stage} | ${st.workflowId} | ${st.state} | ${(st.failure ?? st.outcome ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`,
    );
  if (status.stoppedAt) lines.push('', `Stopped at ${status.stoppedAt.stage}: ${status.stoppedAt.reason}`);
  lines.push(
    '',
    status.stays.length
      ? `What stays in place (not undone): ${status.stays.join('; ')}`
      : 'No completed stage left a change in place.',
  );
  return lines.join('\n');
}

/**
 * An abort of the go-live is an abort of everything its stage changed: a cutover's plain abort only
 * restores the batch in flight, `all` restores every batch moved so far.
 */
export function childAbortInput(stage: StageName, input: OperatorInput): OperatorInput {
  return stage === 'userCutover' ? { ...input, all: true } : input;
}

/** A completed cutover's outcome and what stays: its users on the new system (a go-live does not move them back). */
export function cutoverAchieved(cutover: {
  service: string;
  batches: { name: string; state: string; moved?: number }[];
}): {
  outcome: string;
  stays: string;
} {
  const moved = cutover.batches.filter((b) => b.state === 'moved');
  const users = moved.reduce((a, b) => a + (b.moved ?? 0), 0);
  return {
    outcome: `${users} users moved in ${moved.length} batches`,
    stays: `user cutover of ${cutover.service}: ${users} users on the new system (${moved.map((b) => b.name).join(', ') || 'no batch'})`,
  };
}

/**
 * A cutover that stopped restored the batch it stopped at, and every moved batch when the go-live's
 * abort (which sends `all`) stopped it; a failed gate leaves earlier batches on the new system. The
 * child's failure message names what it restored; this says where the rest is.
 */
export function cutoverStoppedStays(workflowId: string): string {
  return `user cutover: batches moved before the stop and not named as restored stay on the new system (${workflowId}'s status lists each batch)`;
}

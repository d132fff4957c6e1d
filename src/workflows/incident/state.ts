// The incident as the run knows it: its record, its timeline and every change a signal or a step
// makes to them, as plain transitions without Temporal, so unit tests drive any order of events.
import {
  incidentId,
  type ActorInput,
  type AlertInput,
  type ApproveInput,
  type IncidentRecord,
  type NoteInput,
  type Outcome,
  type ParsedIncidentInput,
  type TimelineEntry,
  type TimelineKind,
} from '../../domain/incident/incident';
import { classify, slaClocks, type Classification } from '../../domain/incident/severity';
import type { OnCall } from '../../domain/incident/oncall';
import type { EscalationStep } from '../../domain/incident/escalation';
import type { RunbookStep } from '../../domain/incident/runbook';
import type { Notification } from '../../domain/notification';

export type RunbookEntry = RunbookStep & { outcome?: Outcome };

/** Repeats of the alert worth a timeline line each; after that the count in `status` says enough. */
const ALERT_REPEATS_ON_TIMELINE = 6;

const byWhom = (by?: string) => (by ? ` by ${by}` : '');
const withNote = (note?: string) => (note ? `: ${note}` : '');

/**
 * The timeline is the incident's record (stored entry by entry, the postmortem is written from it),
 * so it is not a bounded decision log (common/decision-log.ts would drop entries before they are
 * stored); what repeats without limit, the alert firing again, is bounded on the way in.
 */
export class IncidentState {
  readonly timeline: TimelineEntry[];
  acknowledged = false;
  resolved = false;
  resolvedBy?: string;
  pendingApproval?: string;
  respondSlaMissed = false;
  resolveSlaMissed = false;
  /** Firing alerts delivered by the receiver (its signal-with-start sends the first one too). */
  alertsReceived = 0;
  readonly notified: string[] = [];
  /** PagerDuty notifiers that were triggered: they take the acknowledge and the resolve. */
  readonly pagerDutyTriggered: string[] = [];
  onCall?: OnCall;
  steps: RunbookEntry[] = [];
  ended?: { kind: 'failed' | 'cancelled'; message: string };
  /** Why the record is not (yet) in the incident store; the run goes on without it. */
  storeProblem?: string;
  /** Without a store, the diagnostics themselves (bounded, kept-diagnostics.ts): nowhere else keeps them. */
  diagnostics?: string;
  private readonly escalateRequests: ActorInput[] = [];
  private readonly approvals = new Set<string>();
  /** Who approved "the next destructive step" before any step waited for it. */
  private approveNext?: string;
  /** Timeline entries up to here are in the store; `dirty` says the record changed since. */
  private savedUpTo = 0;
  dirty = false;

  constructor(
    readonly record: IncidentRecord,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.timeline = record.timeline;
  }

  /** The record at the start: classified by the built-in rules until the config's are read. */
  static open(input: ParsedIncidentInput, workflowId: string, openedAt: Date, now?: () => string): IncidentState {
    const c = classify(input);
    const severity = input.severity ?? c.severity;
    return new IncidentState(
      {
        id: incidentId(openedAt),
        workflowId,
        title: input.title,
        type: input.type,
        severity,
        severityReason: input.severity ? `set by ${input.source} (rules say ${c.severity}: ${c.reason})` : c.reason,
        state: 'open',
        services: input.services,
        metrics: input.metrics,
        labels: input.labels,
        source: input.source,
        fingerprint: input.fingerprint,
        openedAt: openedAt.toISOString(),
        sla: slaClocks(severity, openedAt),
        escalationLevel: 0,
        digest: false,
        timeline: [],
      },
      now,
    );
  }

  add(kind: TimelineKind, message: string, outcome?: Outcome, by?: string): void {
    this.timeline.push({
      seq: this.timeline.length,
      at: this.now(),
      kind,
      message,
      ...(outcome ? { outcome } : {}),
      ...(by ? { by } : {}),
    });
    this.dirty = true;
  }

  /** The config's rules decide, unless the input named a severity. */
  reclassify(c: Classification): void {
    this.record.severity = c.severity;
    this.record.severityReason = c.reason;
    this.record.sla = slaClocks(c.severity, new Date(this.record.openedAt));
  }

  /** The first acknowledgement counts; later ones, and any after the resolution, change nothing. */
  acknowledge(a: ActorInput): boolean {
    if (this.acknowledged || this.resolved) return false;
    this.acknowledged = true;
    this.record.state = 'acknowledged';
    this.record.acknowledgedAt = this.now();
    this.record.owner = a.by ?? this.record.owner;
    this.add('acknowledged', `acknowledged${byWhom(a.by)}${withNote(a.note)}`, undefined, a.by);
    return true;
  }

  /** Resolving needs no acknowledgement first; the first resolution counts. */
  resolve(a: ActorInput): boolean {
    if (this.resolved) return false;
    this.resolved = true;
    this.resolvedBy = a.by;
    this.record.state = 'resolved';
    this.record.resolvedAt = this.now();
    this.add('resolved', `resolved${byWhom(a.by)}${withNote(a.note)}`, undefined, a.by);
    return true;
  }

  /** A person asks for the next escalation level; queued until the escalation loop takes it. */
  requestEscalation(a: ActorInput): boolean {
    if (this.resolved) return false;
    this.escalateRequests.push(a);
    return true;
  }

  get escalationRequested(): boolean {
    return this.escalateRequests.length > 0;
  }

  takeEscalationRequest(): ActorInput | undefined {
    return this.escalateRequests.shift();
  }

  escalated(done: number, next: EscalationStep, manual?: ActorInput): void {
    this.record.escalationLevel = done;
    const round = next.pass ? ` (round ${next.pass + 1})` : '';
    const why = manual ? ' on request' : ', nobody acknowledged';
    this.add(
      'escalated',
      `escalated to level ${next.level}${round}: ${next.notify.join(', ')}${why}`,
      undefined,
      manual?.by,
    );
  }

  note(n: NoteInput): void {
    this.add('note', n.text, undefined, n.by);
  }

  /**
   * An approval names its step, or means the step waiting now, or else the next destructive step
   * of the runbook; with no such step it approves whichever destructive step comes first later.
   * A step the runbook does not hold is recorded as approved and never matches a real one.
   */
  approve(a: ApproveInput): string | undefined {
    const step =
      a.step ?? this.pendingApproval ?? this.steps.find((s) => s.needsApproval && s.outcome === undefined)?.id;
    if (step === undefined) this.approveNext = a.by ?? 'someone';
    else this.approvals.add(step);
    this.add('approval', `approved ${step ?? 'the next destructive step'}${byWhom(a.by)}`, 'ok', a.by);
    return step;
  }

  isApproved(stepId: string): boolean {
    return this.approvals.has(stepId);
  }

  /** May the step run now without waiting? Uses up an approval given for "the next step". */
  mayRunWithoutWaiting(step: RunbookStep): boolean {
    if (!step.needsApproval || this.approvals.has(step.id)) return true;
    if (this.approveNext === undefined) return false;
    this.approveNext = undefined;
    return true;
  }

  waitForApproval(step: RunbookStep, what: string): void {
    this.pendingApproval = step.id;
    this.add('approval', `waiting for approve of ${step.id}: ${what}`, 'waiting');
  }

  /** The wait is over (approved or resolved): was the step approved? */
  approvalWaitOver(step: RunbookStep): boolean {
    this.pendingApproval = undefined;
    return this.approvals.has(step.id);
  }

  /** A firing alert again: counted; only the first repeats get a timeline line. */
  alertFired(a: AlertInput): boolean {
    if (a.status !== 'firing') return false;
    this.alertsReceived++;
    if (this.alertsReceived > 1 && this.alertsReceived <= ALERT_REPEATS_ON_TIMELINE) {
      this.add('alert', `alert fired again (${this.alertsReceived} times so far)`);
    }
    return true;
  }

  notifiedOk(event: string, name: string, pagerDutyAction?: Notification['action']): void {
    if (!this.notified.includes(name)) this.notified.push(name);
    if (pagerDutyAction === 'trigger' && !this.pagerDutyTriggered.includes(name)) this.pagerDutyTriggered.push(name);
    this.add('notified', `${event}: ${name}${pagerDutyAction ? ` (PagerDuty ${pagerDutyAction})` : ''}`, 'ok');
  }

  notifyFailed(event: string, name: string, why: string): void {
    this.add('notified', `${event}: ${name} failed: ${why}`, 'failed');
  }

  missedRespondSla(): void {
    this.respondSlaMissed = true;
    this.add('sla', `respond SLA missed: not acknowledged within ${this.record.sla.respondMinutes} min`, 'failed');
  }

  missedResolveSla(): void {
    this.resolveSlaMissed = true;
    this.add('sla', `resolve SLA missed: not resolved within ${this.record.sla.resolveMinutes} min`, 'failed');
  }

  /** What the store has not seen yet; taking it marks the record as saved. */
  takeUnsaved(): TimelineEntry[] {
    this.dirty = false;
    const events = this.timeline.slice(this.savedUpTo);
    this.savedUpTo = this.timeline.length;
    return events;
  }

  /** The record without its timeline: the store gets the timeline as events. */
  snapshot(): Omit<IncidentRecord, 'timeline'> {
    const { timeline: _t, ...rest } = this.record;
    return rest;
  }
}

// Why: the readiness gate's state (every item with its live result, signer or waiver, and the
// verdict) with pure transitions, so the rules of the gate are unit-tested without Temporal.
import type { ChecklistItem } from '../../domain/readiness/checks';
import type { CheckResult } from '../../domain/readiness/evidence';
import type { SignOffInput, WaiveInput } from '../../domain/readiness/input';
import { DecisionLog } from '../common/decision-log';

const MAX_DECISIONS = 100;

interface SignOff {
  by: string;
  note?: string;
  at: string;
}

interface Waiver {
  by: string;
  reason: string;
  until: string;
  at: string;
}

/** `ready`: passed, signed or waived; `blocking`: anything else, with the reason. */
export type ItemVerdict = 'passed' | 'signed' | 'waived' | 'failed' | 'error' | 'pending' | 'unsigned';

export interface ItemStatus extends ChecklistItem {
  result?: CheckResult;
  signOff?: SignOff;
  waiver?: Waiver;
  /** A waiver whose time has passed: kept so the report says it lapsed. */
  expiredWaiver?: Waiver;
  verdict: ItemVerdict;
}

export type ReadinessPhase = 'loading' | 'checking' | 'waiting' | 'ready' | 'not-ready' | 'failed' | 'cancelled';

export interface ReadinessStatus {
  service: string;
  checklist: string;
  phase: ReadinessPhase;
  ready: boolean;
  items: ItemStatus[];
  /** Item ids that keep the gate shut. */
  blocking: string[];
  decisions: string[];
  /** Rounds of automated checks run (1 + re-runs). */
  rounds: number;
  deadline?: string;
  failure?: string;
}

const READY: ItemVerdict[] = ['passed', 'signed', 'waived'];

function isSignOff(item: ChecklistItem): boolean {
  return item.check === 'signOff';
}

/** An item's verdict at `nowMs`: a live waiver covers anything; otherwise its own result or signer. */
export function itemVerdict(item: ItemStatus, nowMs: number): ItemVerdict {
  if (item.waiver && Date.parse(item.waiver.until) > nowMs) return 'waived';
  if (isSignOff(item)) return item.signOff ? 'signed' : 'unsigned';
  if (!item.result) return 'pending';
  return item.result.outcome === 'pass' ? 'passed' : item.result.outcome === 'fail' ? 'failed' : 'error';
}

/** What crosses continue-as-new: the whole gate (items, results, signers, waivers) and what waits. */
export interface ReadinessCarry {
  status: ReadinessStatus;
  deadlineMs: number;
  recheck?: string[];
  aborted?: string;
  generation: number;
}

export class ReadinessRun {
  readonly status: ReadinessStatus;
  private readonly log: DecisionLog<string>;

  constructor(service: string, checklist: string, carried?: ReadinessStatus) {
    this.status = carried ?? {
      service,
      checklist,
      phase: 'loading',
      ready: false,
      items: [],
      blocking: [],
      decisions: [],
      rounds: 0,
    };
    this.log = new DecisionLog(this.status.decisions, MAX_DECISIONS);
  }

  decide(text: string): void {
    this.log.add(text);
  }

  load(items: ChecklistItem[], deadline: string): void {
    this.status.items = items.map((i) => ({ ...i, verdict: isSignOff(i) ? 'unsigned' : 'pending' }));
    this.status.deadline = deadline;
    this.decide(
      `checklist ${this.status.checklist}: ${items.length} items (${this.automated().length} automated, ${items.length - this.automated().length} sign-offs); open until ${deadline}`,
    );
  }

  automated(): ChecklistItem[] {
    return this.status.items.filter((i) => !isSignOff(i));
  }

  private item(id: string): ItemStatus {
    const item = this.status.items.find((i) => i.id === id);
    if (!item)
      throw new Error(
        `item: "${id}" is not in checklist ${this.status.checklist} (items: ${this.status.items.map((i) => i.id).join(', ')})`,
      );
    return item;
  }

  checking(ids: string[]): void {
    this.status.phase = 'checking';
    this.status.rounds += 1;
    this.decide(`round ${this.status.rounds}: checking ${ids.join(', ')}`);
  }

  checked(r: CheckResult): void {
    const item = this.item(r.item);
    const was = item.result?.outcome;
    item.result = r;
    if (was && was !== r.outcome) this.decide(`${r.item}: ${was} → ${r.outcome} (${r.message})`);
  }

  /** Throws, naming the field, when the sign-off does not fit the checklist; the Update's validator. */
  validateSignOff(s: SignOffInput): void {
    const item = this.item(s.item);
    if (!isSignOff(item))
      throw new Error(
        `item: "${s.item}" is an automated ${item.check} check; it passes by its evidence or is waived, not signed`,
      );
    this.requireOpen('item: ');
  }

  /**
   * The Update's check: also refuses a second sign-off of an item (the first signer stays). Only
   * the validator says so: a history recorded before this rule replays its second sign-off.
   */
  signOffRefusal(s: SignOffInput): void {
    this.validateSignOff(s);
    const signed = this.item(s.item).signOff;
    if (signed) throw new Error(`item: "${s.item}" is already signed off by ${signed.by} at ${signed.at}`);
  }

  signOff(s: SignOffInput, nowIso: string): void {
    this.validateSignOff(s);
    this.item(s.item).signOff = { by: s.by, ...(s.note ? { note: s.note } : {}), at: nowIso };
    this.decide(`${s.item} signed off by ${s.by}${s.note ? `: ${s.note}` : ''}`);
  }

  validateWaiver(w: WaiveInput, nowMs: number): void {
    this.item(w.item);
    if (Date.parse(w.until) <= nowMs) throw new Error(`until: ${w.until} is not in the future`);
    this.requireOpen('item: ');
  }

  waive(w: WaiveInput, nowMs: number): void {
    this.validateWaiver(w, nowMs);
    const item = this.item(w.item);
    item.waiver = {
      by: w.by,
      reason: w.reason,
      until: new Date(Date.parse(w.until)).toISOString(),
      at: new Date(nowMs).toISOString(),
    };
    delete item.expiredWaiver;
    this.decide(`${w.item} waived by ${w.by} until ${item.waiver.until}: ${w.reason}`);
  }

  /** Recomputes every verdict at `nowMs`; waivers past their time lapse (and are logged once). */
  evaluate(nowMs: number): boolean {
    for (const item of this.status.items) {
      if (item.waiver && Date.parse(item.waiver.until) <= nowMs) {
        item.expiredWaiver = item.waiver;
        delete item.waiver;
        this.decide(`waiver of ${item.id} by ${item.expiredWaiver.by} expired at ${item.expiredWaiver.until}`);
      }
      item.verdict = itemVerdict(item, nowMs);
    }
    this.status.blocking = this.status.items.filter((i) => !READY.includes(i.verdict)).map((i) => i.id);
    this.status.ready = this.status.blocking.length === 0;
    return this.status.ready;
  }

  /** The earliest time a live waiver lapses: the verdict may change then without any signal. */
  nextWaiverExpiry(): number | undefined {
    const times = this.status.items.flatMap((i) => (i.waiver ? [Date.parse(i.waiver.until)] : []));
    return times.length ? Math.min(...times) : undefined;
  }

  waiting(): void {
    this.status.phase = 'waiting';
  }

  /** Throws once the gate is closed: nothing changes a verdict any more. */
  requireOpen(field = ''): void {
    if (this.finished)
      throw new Error(`${field}the readiness gate of ${this.status.service} is closed (${this.status.phase})`);
  }

  get finished(): boolean {
    return ['ready', 'not-ready', 'failed', 'cancelled'].includes(this.status.phase);
  }

  finish(reason: string): void {
    this.status.phase = this.status.ready ? 'ready' : 'not-ready';
    this.decide(
      `verdict: ${this.status.ready ? 'READY' : `NOT READY (${this.status.blocking.join(', ')})`} — ${reason}`,
    );
  }

  end(kind: 'failed' | 'cancelled', message: string): ReadinessPhase {
    const was = this.status.phase;
    this.status.phase = kind;
    this.status.ready = false;
    this.status.failure = message;
    return was;
  }
}

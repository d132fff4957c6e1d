// Why: how a window's samples add up (the gate policy's counters in a run's status, reset when a
// window opens, eased when a person answers a hold) is the same bookkeeping for every gated window.
import type { Verdict } from '../../domain/gate/evaluate';
import {
  nextGateStep,
  zeroCounters,
  type GateAction,
  type GateCounters,
  type InconclusivePolicy,
} from '../../domain/gate/policy';

/** The counters in `status`, counted by `policy`; the status keeps them, so they cross continue-as-new. */
export class GateCount {
  constructor(
    private readonly status: { counters: GateCounters },
    private readonly policy: { failuresToRollback: number; inconclusive: InconclusivePolicy },
  ) {}

  /** A new window counts from zero. */
  reset(): void {
    this.status.counters = { ...zeroCounters };
  }
  /** One sample's verdict counted: what the window must do next. */
  count(verdict: Verdict): GateAction {
    const next = nextGateStep(this.status.counters, verdict, this.policy);
    this.status.counters = next.counters;
    return next.action;
  }
  /** Why the window holds, in words. */
  holdReason(): string {
    return `${this.status.counters.consecutiveInconclusive} inconclusive samples in a row`;
  }
  /** A person answered the hold: the doubt counted so far no longer holds. */
  holdAnswered(): void {
    this.status.counters = { ...this.status.counters, consecutiveInconclusive: 0 };
  }
}

import { z } from 'zod';
import { count, flag } from '../fields';
import type { Verdict } from './evaluate';

/**
 * How samples add up to a decision: how many failed samples in a row roll back, and what to do
 * with inconclusive ones (a metric source unreachable, an empty query, too few probe requests).
 */
export const inconclusivePolicy = z
  .object({
    /** This many inconclusive samples in a row hold the window for a person. */
    maxConsecutive: count.default(3),
    /** Count an inconclusive sample as a failed one as well (strict gates). */
    countAsFailure: flag,
  })
  .strict();
export type InconclusivePolicy = z.infer<typeof inconclusivePolicy>;

export interface GateCounters {
  consecutiveFailures: number;
  consecutiveInconclusive: number;
  totalFailures: number;
  totalInconclusive: number;
}

export const zeroCounters: GateCounters = {
  consecutiveFailures: 0,
  consecutiveInconclusive: 0,
  totalFailures: 0,
  totalInconclusive: 0,
};

/** `continue` sampling; `rollback` now; `hold` for a person (inconclusive limit reached). */
export type GateAction = 'continue' | 'rollback' | 'hold';

export interface GateStep {
  counters: GateCounters;
  action: GateAction;
}

/**
 * One sample's effect on the counters and what the window must do next. A pass resets both
 * runs; a failure resets the inconclusive run; an inconclusive sample never resets the failure
 * run (an unreachable source between two failures must not hide them), unless it counts as one.
 */
export function nextGateStep(
  counters: GateCounters,
  verdict: Verdict,
  policy: { failuresToRollback: number; inconclusive: InconclusivePolicy },
): GateStep {
  const c = { ...counters };
  if (verdict === 'pass') {
    c.consecutiveFailures = 0;
    c.consecutiveInconclusive = 0;
  } else if (verdict === 'fail') {
    c.consecutiveFailures++;
    c.totalFailures++;
    c.consecutiveInconclusive = 0;
  } else {
    c.consecutiveInconclusive++;
    c.totalInconclusive++;
    if (policy.inconclusive.countAsFailure) {
      c.consecutiveFailures++;
      c.totalFailures++;
    }
  }
  if (c.consecutiveFailures >= policy.failuresToRollback) return { counters: c, action: 'rollback' };
  if (c.consecutiveInconclusive >= policy.inconclusive.maxConsecutive) return { counters: c, action: 'hold' };
  return { counters: c, action: 'continue' };
}

/** Samples in a window: one per interval, at least one. */
export function samplesPlanned(windowMs: number, intervalMs: number): number {
  return Math.max(1, Math.round(windowMs / intervalMs));
}

/** A window may end only on a passing latest sample: a window that ends on doubt samples on. */
export function windowMayEnd(samplesTaken: number, samplesPlanned: number, lastVerdict: Verdict | undefined): boolean {
  return samplesTaken >= samplesPlanned && lastVerdict === 'pass';
}

/** Why a window holds for a person, in words. */
export const holdReason = (c: GateCounters): string => `${c.consecutiveInconclusive} inconclusive samples in a row`;

/** A person answered a hold: the inconclusive run that held it starts again (the totals stay). */
export const afterHold = (c: GateCounters): GateCounters => ({ ...c, consecutiveInconclusive: 0 });

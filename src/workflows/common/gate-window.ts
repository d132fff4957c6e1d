// Why: a gated window (a wait or a watch per sample, a sample that cannot be taken counted as doubt,
// the gate's verdict counted, a hold for a person after too much doubt, continue-as-new on a long
// history) is one mechanism that a cutover's batch and a rollout's step both watch. Its order is
// the order of commands in every recorded history of both, so it is written once, here; the
// workflow brings its words, its activities and where the counts sit in its status.
import * as wf from '@temporalio/workflow';
import {
  describeGateResult,
  evaluateGate,
  type GateResult,
  type GateThresholds,
  type MetricName,
  type Sample,
  type Verdict,
} from '../../domain/gate/evaluate';
import type { GateAction } from '../../domain/gate/policy';
import { formatDuration } from '../../domain/duration';
import { historyIsLong } from './continue-as-new';
import { failureMessage } from './failure';
import type { OperatorControls } from './operator-controls';

/** Why a gated run stops: the workflow then puts back what it moved (or, in a dry run, says it would). */
export class Stop {
  constructor(
    readonly kind: 'gate' | 'hold-expired' | 'abort' | 'cancel' | 'shift-failed' | 'listing' | 'move' | 'error',
    readonly message: string,
    /** A failed gate's result: which metrics failed, with their values and maximums. */
    readonly gate?: GateResult,
    /** What the run's notification and failure carry besides. */
    readonly details: Record<string, unknown> = {},
  ) {}
}

/** A sample and the gate's verdict on it. */
export interface Judged {
  sample: Sample;
  result: GateResult;
}

/** Judges a sample; a read that failed is doubt about every gated metric, never a pass. */
function judge(gate: GateThresholds, read: Sample | { failed: unknown }): Judged {
  if (!('failed' in read)) return { sample: read, result: evaluateGate(gate, read) };
  const inconclusive = `sampling failed: ${failureMessage(read.failed)}`;
  const readings = Object.keys(gate).map((m) => ({ metric: m as MetricName, source: '(sampling)', inconclusive }));
  return judge(gate, { at: new Date().toISOString(), readings });
}

/** Judges what `take` reads, a read that fails as doubt. */
export async function sampleOrDoubt(gate: GateThresholds, take: () => Promise<Sample>): Promise<Judged> {
  try {
    return judge(gate, await take());
  } catch (failed) {
    return judge(gate, { failed });
  }
}

/** A sample watched over an interval, judged; `early` says why the watch ended before the interval did. */
export type WatchedJudged = Judged & { early?: string };

/**
 * Watches one interval: `watch` (an activity that watches the metrics and returns early on a
 * conclusive failure) races `interrupted` (an abort, or whatever else the workflow lets end the
 * wait) in a scope of its own. The loser is cancelled; the run's own cancellation is rethrown (the
 * workflow handles it, it is not a sample); a watch that failed otherwise is doubt, never a pass.
 * The watch is scheduled before the condition is set: the order of both workflows' histories.
 */
export async function watchInterval(
  gate: GateThresholds,
  watch: () => Promise<Sample & { early?: string }>,
  interrupted: () => boolean,
): Promise<WatchedJudged | 'interrupted'> {
  const scope = new wf.CancellationScope();
  let outcome: (Sample & { early?: string }) | { failed: unknown } | 'interrupted';
  try {
    outcome = await scope.run(() =>
      Promise.race([
        watch().catch((failed: unknown) => ({ failed })),
        wf.condition(interrupted).then(() => 'interrupted' as const),
      ]),
    );
  } finally {
    // Whichever lost the race: the watch stops probing, the condition stops being checked. A scope
    // the run's own cancel reached is not cancelled twice (a second request for the same activity).
    if (!scope.consideredCancelled) scope.cancel();
  }
  if (outcome === 'interrupted') return outcome;
  if ('failed' in outcome) {
    if (wf.isCancellation(outcome.failed)) throw outcome.failed;
    return judge(gate, outcome);
  }
  const { early } = outcome;
  return { ...judge(gate, outcome), ...(early ? { early } : {}) };
}

/** One window as the loop sees it; the workflow that watches it fills in every part. */
export interface GateWindow {
  run: {
    decide(text: string): void;
    readonly controls: OperatorControls;
    readonly input: { maxHistoryEvents?: number; holdTimeout: number };
  };
  /** Samples counted so far (more than 0 in a window carried across continue-as-new). */
  taken(): number;
  /** Waits out sample `k`'s interval; a wait that watched the metrics meanwhile returns what it saw. */
  wait(k: number): Promise<Judged | undefined>;
  /** Takes sample `k` now (the wait did not). */
  sample(k: number): Promise<Judged>;
  /** A person asked to end the window since the last sample (asking uses the request up). */
  takePromote?(): boolean;
  /** Counts sample `k` into the status and shows it: what the gate policy says to do next. */
  count(k: number, judged: Judged): GateAction;
  /** How decisions name sample `k`. */
  sampleName(k: number): string;
  /** Throws the abort as a Stop, if one came (`held`: it came while the window was held). */
  checkAbort(held?: boolean): void;
  /** The Stop a failed gate ends the window with. */
  gateStop(result: GateResult): Stop;
  /** Sample `k` with this verdict ends the window (`promote`: a person asked it to end now). */
  ends(k: number, verdict: Verdict, promote: boolean): boolean;
  /** Continues as new in the middle of the window, after sample `k`. */
  continueAsNew(k: number): Promise<never>;
  hold: {
    /** Shows the window held, or watched again once a person answered. */
    enter(state: 'held' | 'monitoring'): void;
    reason(): string;
    /** The hold's decision and its wait's summary, `timeout` in words. */
    words(why: string, timeout: string): { decision: string; summary: string };
    notify(why: string, timeout: string): Promise<void>;
    /** A person answered: the doubt counted so far no longer holds. */
    answered(): void;
  };
}

/** Watches the window until a sample ends it; a failed gate, an expired hold or an abort throws a Stop. */
export async function watchGateWindow(window: GateWindow): Promise<void> {
  const { run } = window;
  for (;;) {
    const sampleNo = window.taken() + 1;
    const watched = await window.wait(sampleNo);
    window.checkAbort();
    const promote = window.takePromote?.() ?? false;
    const sample = watched ?? (await window.sample(sampleNo));
    const { result } = sample;
    const action = window.count(sampleNo, sample);
    if (result.verdict !== 'pass') run.decide(`${window.sampleName(sampleNo)}: ${describeGateResult(result)}`);
    if (action === 'rollback') throw window.gateStop(result);
    if (action === 'hold') await holdForPerson(window);
    window.checkAbort();
    if (window.ends(sampleNo, result.verdict, promote)) return;
    if (historyIsLong(run.input.maxHistoryEvents)) {
      run.decide('history is long: continuing as new with the same state');
      await window.continueAsNew(sampleNo);
    }
  }
}

/** Too many inconclusive samples: hold for a person; nobody in time throws a Stop (the caller rolls back). */
async function holdForPerson(window: GateWindow): Promise<void> {
  const { hold, run } = window;
  hold.enter('held');
  const why = hold.reason();
  const timeout = formatDuration(run.input.holdTimeout);
  const { decision, summary } = hold.words(why, timeout);
  run.decide(decision);
  await hold.notify(why, timeout);
  const answered = await run.controls.waitForResume(run.input.holdTimeout, { summary });
  window.checkAbort(true);
  if (!answered) throw new Stop('hold-expired', `held for ${timeout} after ${why} and nobody resumed`);
  hold.answered();
  hold.enter('monitoring');
}

import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import { describeFailure, describeGateResult, evaluateGate, type GateResult, type MetricName, type Sample, type Verdict } from '../domain/gate';
import { nextGateStep, windowMayEnd, zeroCounters, type GateCounters } from '../domain/gate-policy';
import { notificationKey, type NotificationSeverity } from '../domain/notification';
import {
  formatDuration,
  phasedRolloutInput,
  rolloutWorkflowId,
  samplesPlanned,
  type PhasedRolloutInput,
  type PhasedRolloutInputRaw,
  type RolloutPlan,
} from '../domain/rollout-input';
import { OpsflowService, OpsflowState, OpsflowStep } from '../domain/search-attributes';
import { parseInput } from './input';

/** Planning and LB reads: a few quick tries; what cannot be fixed by a retry is non-retryable. */
const lbOptions: wf.ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' },
};
/** A rollback must happen: it retries until the LB reads back 0 % for the new backend. */
const rollbackOptions: wf.ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' },
};
/** A sample that cannot be taken is an inconclusive sample, not a reason to wait long. */
const sampleOptions: wf.ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 2, initialInterval: '1s' },
};
const notifyOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
const acts = wf.proxyActivities<Activities>(lbOptions);
const withSummary = (o: wf.ActivityOptions, summary: string): wf.ActivityOptions => ({ ...o, summary });

export type RolloutState =
  | 'planning'
  | 'awaiting-approval'
  | 'shifting'
  | 'monitoring'
  | 'held'
  | 'rolling-back'
  | 'cleaning-up'
  | 'succeeded'
  | 'rolled-back'
  | 'aborted'
  | 'dry-run-done';

export interface SampleRecord {
  step: number;
  n: number;
  at: string;
  verdict: Verdict;
  summary: string;
  sample: Sample;
}

export interface Decision {
  at: string;
  step: number;
  decision: string;
}

export interface RolloutStatus {
  service: string;
  lb: string;
  backends: { old: string; new: string };
  dryRun: boolean;
  state: RolloutState;
  /** 1-based; 0 before the first step. */
  step: number;
  steps: { weight: number; windowMs: number; targetUsers?: string[] }[];
  /** What the LB last read back. */
  weights?: { newPercent: number; weights: Record<string, number>; targetUsers?: string[] };
  window?: { step: number; startedAt: string; samplesTaken: number; samplesPlanned: number; intervalMs: number };
  paused: boolean;
  awaitingApproval?: number;
  approved: number[];
  counters: GateCounters;
  lastSamples: SampleRecord[];
  decisions: Decision[];
  plan?: RolloutPlan;
  /** Dry run: every action the rollout would have taken. */
  actions: string[];
}

export interface RolloutResult {
  service: string;
  outcome: 'succeeded' | 'dry-run';
  stepsCompleted: number;
  finalSplit?: RolloutStatus['weights'];
  oldBackend: string;
  cleanup: string;
  decisions: Decision[];
  actions: string[];
}

/** State carried across continue-as-new: where in which window, and what people decided. */
export interface RolloutCarry {
  stepIndex: number;
  samplesTaken: number;
  windowStartedAt: string;
  status: RolloutStatus;
  /** Signals received but not yet acted on: approvals of later steps, an abort. */
  pendingApprovals?: { step?: number }[];
  aborted?: { reason: string; by?: string };
}

export const statusQuery = wf.defineQuery<RolloutStatus>('status');
export const approveSignal = wf.defineSignal<[{ step?: number; by?: string }?]>('approve');
export const pauseSignal = wf.defineSignal<[{ reason?: string; by?: string }?]>('pause');
export const resumeSignal = wf.defineSignal<[{ by?: string }?]>('resume');
export const abortSignal = wf.defineSignal<[{ reason?: string; by?: string }?]>('abort');
export const promoteSignal = wf.defineSignal<[{ by?: string }?]>('promote');

const MAX_DECISIONS = 100;

/** The message that says what went wrong: an activity's own failure rather than "Activity task failed". */
function failureMessage(err: unknown): string {
  if (err instanceof wf.ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
const MAX_SAMPLES = 5;

class Stop {
  constructor(
    readonly kind: 'gate' | 'abort' | 'hold-expired' | 'shift-failed' | 'error',
    readonly message: string,
    readonly gate?: GateResult,
  ) {}
}

/**
 * SPEC §1 phased rollout: per step, set the LB split and read it back, then watch a window of one
 * sample and one timer per interval; a failed gate rolls back to 100 % old (read back), tells
 * people which metric and value, and fails the run saying which step, metric and value.
 */
export async function phasedRolloutWorkflow(raw: PhasedRolloutInputRaw, carried?: RolloutCarry): Promise<RolloutResult> {
  let pendingApprovals: { step?: number }[] = carried?.pendingApprovals ?? [];
  let aborted: { reason: string; by?: string } | undefined = carried?.aborted;
  let promoteRequested = false;
  let resumeRequested = false;
  const info = wf.workflowInfo();
  const input: PhasedRolloutInput = parseInput(phasedRolloutInput, raw, 'phasedRolloutWorkflow');
  const n = input.steps.length;
  const status: RolloutStatus = carried?.status ?? {
    service: input.service,
    lb: input.lb,
    backends: input.backends,
    dryRun: input.dryRun,
    state: 'planning',
    step: 0,
    steps: input.steps.map((s) => ({ weight: s.weight, windowMs: s.window, ...(s.targetUsers ? { targetUsers: s.targetUsers } : {}) })),
    paused: false,
    approved: [],
    counters: zeroCounters,
    lastSamples: [],
    decisions: [],
    actions: [],
  };

  const now = () => new Date().toISOString();
  /** Throws the abort, if one came; a function so that the compiler does not narrow `aborted` away. */
  const checkAbort = (where: string) => {
    if (aborted) throw new Stop('abort', `aborted${aborted.by ? ` by ${aborted.by}` : ''} ${where}: ${aborted.reason}`);
  };
  const decide = (decision: string) => {
    status.decisions.push({ at: now(), step: status.step, decision });
    if (status.decisions.length > MAX_DECISIONS) status.decisions.splice(0, status.decisions.length - MAX_DECISIONS);
  };
  const stepLabel = (i: number) => `step ${i + 1}/${n} (${input.steps[i].weight} %)`;
  const setState = (state: RolloutState) => {
    status.state = state;
    wf.upsertSearchAttributes([{ key: OpsflowState, value: state }]);
    const w = status.weights ? ` · LB reads ${status.weights.newPercent} % new` : '';
    const win = status.window ? ` · sample ${status.window.samplesTaken}/${status.window.samplesPlanned}` : '';
    const last = status.lastSamples.at(-1);
    wf.setCurrentDetails(
      `**${input.service}: ${state}**${status.step ? ` — ${stepLabel(status.step - 1)}` : ''}${w}${win}` +
        (status.paused ? ' · **paused**' : '') +
        (last ? `\n\nlast sample: ${last.summary}` : ''),
    );
  };

  wf.setHandler(statusQuery, () => status);
  wf.setHandler(approveSignal, (a) => {
    pendingApprovals.push({ step: a?.step });
    decide(`approve received${a?.step ? ` for step ${a.step}` : ''}${a?.by ? ` from ${a.by}` : ''}`);
  });
  wf.setHandler(pauseSignal, (a) => {
    status.paused = true;
    decide(`paused${a?.by ? ` by ${a.by}` : ''}${a?.reason ? `: ${a.reason}` : ''}`);
  });
  wf.setHandler(resumeSignal, (a) => {
    status.paused = false;
    resumeRequested = true;
    decide(`resumed${a?.by ? ` by ${a.by}` : ''}`);
  });
  wf.setHandler(abortSignal, (a) => {
    aborted ??= { reason: a?.reason ?? 'no reason given', by: a?.by };
    decide(`abort received${a?.by ? ` from ${a.by}` : ''}: ${aborted.reason}`);
  });
  wf.setHandler(promoteSignal, (a) => {
    promoteRequested = true;
    decide(`promote received${a?.by ? ` from ${a.by}` : ''}`);
  });

  // One rollout per service: the workflow id is the service's, so Temporal itself refuses a second start.
  if (!input.dryRun && info.workflowId !== rolloutWorkflowId(input.service)) {
    throw wf.ApplicationFailure.nonRetryable(
      `a phased rollout of ${input.service} must run as workflow id "${rolloutWorkflowId(input.service)}" (got "${info.workflowId}"), so that two rollouts of one service can never run side by side`,
      'InvalidWorkflowId',
    );
  }
  wf.upsertSearchAttributes([{ key: OpsflowService, value: input.service }]);

  const notify = async (event: string, severity: NotificationSeverity, title: string, text: string, details: Record<string, unknown>, to = input.notify) => {
    for (const notifier of to) {
      if (input.dryRun) {
        status.actions.push(`would notify ${notifier} (${severity}): ${title}`);
        continue;
      }
      try {
        await acts.notify.executeWithOptions(withSummary(notifyOptions, `notify ${notifier}: ${title}`), [
          {
            notifier,
            idempotencyKey: notificationKey(info.workflowId, info.firstExecutionRunId, event, notifier),
            severity,
            title,
            text,
            details: { workflowId: info.workflowId, service: input.service, ...details },
          },
        ]);
        decide(`notified ${notifier}: ${title}`);
      } catch (err) {
        // A lost message must not stop a rollback or a clean-up; it is on the record for people.
        decide(`could not notify ${notifier}: ${(err as Error).message}`);
      }
    }
  };

  const split = async (newPercent: number, targetUsers: string[] | undefined, summary: string, rollback = false) => {
    if (input.dryRun) {
      status.actions.push(`would set ${input.lb}: ${input.backends.new} ${newPercent} % / ${input.backends.old} ${100 - newPercent} %${targetUsers ? ` for ${targetUsers.join(', ')}` : ''}, then read it back`);
      return;
    }
    const args = { lb: input.lb, old: input.backends.old, new: input.backends.new, newPercent, ...(targetUsers ? { targetUsers } : {}) };
    status.weights = await acts.setTrafficSplit.executeWithOptions(withSummary(rollback ? rollbackOptions : lbOptions, summary), [args]);
    decide(`LB ${input.lb} reads back ${status.weights.newPercent} % for ${input.backends.new} (weights ${JSON.stringify(status.weights.weights)})`);
  };

  const sample = async (i: number, k: number, planned: number): Promise<GateResult> => {
    let s: Sample;
    try {
      s = await acts.sampleRolloutMetrics.executeWithOptions(
        withSummary(sampleOptions, `${stepLabel(i)}: sample ${k}/${planned} from ${input.metricSources.join(', ')}`),
        [{ service: input.service, sources: input.metricSources }],
      );
    } catch (err) {
      // A sample that could not be taken is doubt about every gated metric, never a pass.
      const why = `sampling failed: ${failureMessage(err)}`;
      s = { at: now(), readings: Object.keys(status.plan!.gate).map((metric) => ({ metric: metric as MetricName, source: '(sampling)', inconclusive: why })) };
    }
    const result = evaluateGate(status.plan!.gate, s);
    status.lastSamples.push({ step: i + 1, n: k, at: s.at, verdict: result.verdict, summary: describeGateResult(result), sample: s });
    if (status.lastSamples.length > MAX_SAMPLES) status.lastSamples.shift();
    return result;
  };

  /** Holds for a person after too many inconclusive samples; rolls back when nobody comes in time. */
  const hold = async (i: number): Promise<void> => {
    setState('held');
    const why = `${status.counters.consecutiveInconclusive} inconclusive samples in a row at ${stepLabel(i)}`;
    decide(`held: ${why}; resume or abort within ${formatDuration(input.holdTimeout)}, or it rolls back`);
    await notify(`held-${i + 1}-${status.counters.totalInconclusive}`, 'warning', `Rollout of ${input.service} held: metrics inconclusive`,
      `${why}. Last: ${status.lastSamples.at(-1)?.summary}. Signal resume or abort within ${formatDuration(input.holdTimeout)}; after that it rolls back.`, { step: i + 1 });
    resumeRequested = false;
    const answered = await wf.condition(() => resumeRequested || aborted !== undefined, input.holdTimeout, {
      summary: `held for a person (${why}): rollback in ${formatDuration(input.holdTimeout)}`,
    });
    checkAbort('while held');
    if (!answered) throw new Stop('hold-expired', `held for ${formatDuration(input.holdTimeout)} after ${why} and nobody resumed`);
    status.counters = { ...status.counters, consecutiveInconclusive: 0 };
    setState('monitoring');
  };

  /** One step's window: one timer and one sample per interval, until it may end (or must stop). */
  const monitor = async (i: number, startAt: number, startedAt: string): Promise<void> => {
    const step = input.steps[i];
    const planned = samplesPlanned(step.window, input.sampleInterval);
    status.window = { step: i + 1, startedAt, samplesTaken: startAt, samplesPlanned: planned, intervalMs: input.sampleInterval };
    promoteRequested = false;
    setState('monitoring');
    let last: Verdict | undefined;
    for (;;) {
      const k = status.window.samplesTaken + 1;
      await wf.condition(() => aborted !== undefined || promoteRequested, input.sampleInterval, {
        summary: `${stepLabel(i)}: wait ${formatDuration(input.sampleInterval)} for sample ${k}/${planned}${status.paused ? ' (paused)' : ''}`,
      });
      checkAbort(`at ${stepLabel(i)}`);
      const promote = promoteRequested;
      promoteRequested = false;
      const result = await sample(i, k, planned);
      status.window.samplesTaken = k;
      last = result.verdict;
      const next = nextGateStep(status.counters, result.verdict, input);
      status.counters = next.counters;
      setState(status.state);
      if (result.verdict !== 'pass') decide(`sample ${k}/${planned}: ${describeGateResult(result)}`);
      if (next.action === 'rollback') {
        throw new Stop('gate', `${status.counters.consecutiveFailures} failed sample(s) in a row: ${describeGateResult(result)}`, result);
      }
      if (next.action === 'hold') await hold(i);
      checkAbort(`at ${stepLabel(i)}`);
      if (promote) {
        if (last === 'pass' && !status.paused) {
          decide(`promoted at sample ${k}/${planned}: latest sample passed`);
          return;
        }
        decide(`promote refused at sample ${k}/${planned}: ${status.paused ? 'paused' : `latest sample ${last}`}`);
      }
      if (!status.paused && windowMayEnd(k, planned, last)) {
        decide(`${stepLabel(i)} passed: ${k} samples, latest pass`);
        return;
      }
      const { continueAsNewSuggested, historyLength } = wf.workflowInfo();
      if (continueAsNewSuggested || historyLength > input.maxHistoryEvents) {
        decide('history is long: continuing as new with the same state');
        await wf.condition(wf.allHandlersFinished);
        await wf.continueAsNew<typeof phasedRolloutWorkflow>(raw, { stepIndex: i, samplesTaken: k, windowStartedAt: startedAt, status, pendingApprovals, aborted });
      }
    }
  };

  const rollBack = async (i: number, stop: Stop) => {
    setState('rolling-back');
    const last = i === n - 1;
    await split(0, undefined, `${last ? 'EMERGENCY ROLLBACK' : `rollback_phase${i + 1}`}: ${input.backends.new} to 0 %, read back`, true);
    status.window = undefined;
    const failure = stop.gate?.failures[0];
    const what = stop.gate ? stop.gate.failures.map(describeFailure).join('; ') : stop.message;
    const kind = stop.kind === 'abort' ? 'aborted' : last ? 'EMERGENCY rollback' : 'rolled back';
    const message = `rollout of ${input.service} ${kind} at ${stepLabel(i)}: ${what}`;
    decide(input.dryRun ? `would roll back: ${what}` : `rolled back to 100 % ${input.backends.old}: ${what}`);
    await notify(
      last && stop.kind !== 'abort' ? 'emergency-rollback' : stop.kind === 'abort' ? 'abort' : `rollback-phase${i + 1}`,
      stop.kind === 'abort' ? 'warning' : last ? 'emergency' : 'critical',
      `${last && stop.kind !== 'abort' ? 'EMERGENCY ' : ''}Rollout of ${input.service} ${kind} at step ${i + 1}/${n}`,
      `${message}. ${input.dryRun ? 'Dry run: nothing was changed.' : `The load balancer ${input.lb} reads back 0 % for ${input.backends.new}.`}`,
      {
        step: i + 1,
        weight: input.steps[i].weight,
        reason: stop.kind,
        ...(failure ? { metric: failure.metric, value: failure.value, max: failure.max, source: failure.source } : {}),
        failures: stop.gate?.failures ?? [],
        split: status.weights,
      },
    );
    setState(stop.kind === 'abort' ? 'aborted' : 'rolled-back');
    return wf.ApplicationFailure.nonRetryable(message, stop.kind === 'abort' ? 'RolloutAborted' : 'RolloutRolledBack', {
      step: i + 1,
      weight: input.steps[i].weight,
      reason: stop.kind,
      failures: stop.gate?.failures ?? [],
    });
  };

  // ---- plan: everything the input names must exist before anything is touched
  if (!status.plan) {
    try {
      status.plan = await acts.planRollout.executeWithOptions(
        withSummary(lbOptions, `check ${input.lb} knows ${input.backends.old} and ${input.backends.new}; gate sources ${input.metricSources.join(', ')}`),
        [input],
      );
    } catch (err) {
      // Nothing was touched yet: say what is wrong with the input as the run's own failure.
      const cause = err instanceof wf.ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
      throw wf.ApplicationFailure.nonRetryable(`cannot roll out ${input.service}, nothing was changed: ${cause}`, 'InvalidRollout');
    }
    status.plan.notes.forEach((note) => decide(note));
    decide(`plan: gate ${JSON.stringify(status.plan.gate)}, ${n} steps ${input.steps.map((s) => `${s.weight} %/${formatDuration(s.window)}`).join(' → ')}`);
  }

  const firstStep = carried?.stepIndex ?? 0;
  for (let i = firstStep; i < n; i++) {
    const step = input.steps[i];
    const resuming = carried !== undefined && i === carried.stepIndex;
    try {
      if (!resuming) {
        status.step = i + 1;
        status.window = undefined;
        wf.upsertSearchAttributes([{ key: OpsflowStep, value: `${i + 1}/${n} ${step.weight}%` }]);
        if (step.approval ?? input.requireApproval) {
          const isFor = (a: { step?: number }) => a.step === undefined || a.step === i + 1;
          if (input.dryRun) status.actions.push(`would wait for approve before ${stepLabel(i)}`);
          else {
            status.awaitingApproval = i + 1;
            setState('awaiting-approval');
            // An approve sent before this wait still counts if it names this step; a bare one is for the step waiting.
            pendingApprovals = pendingApprovals.filter((a) => a.step !== undefined && a.step > i);
            await wf.condition(() => aborted !== undefined || pendingApprovals.some(isFor) || status.approved.includes(i + 1));
            status.awaitingApproval = undefined;
            checkAbort(`before ${stepLabel(i)}`);
            status.approved.push(i + 1);
            pendingApprovals = pendingApprovals.filter((a) => !isFor(a));
            decide(`${stepLabel(i)} approved`);
          }
        }
        checkAbort(`before ${stepLabel(i)}`);
        setState('shifting');
        const users = status.plan.supportsCohorts ? step.targetUsers : undefined;
        await split(step.weight, users, `phase ${i + 1}: ${input.backends.new} ${step.weight} % / ${input.backends.old} ${100 - step.weight} %${users ? ` for ${users.join(', ')}` : ''}`).catch((err) => {
          throw new Stop('shift-failed', `could not set the split: ${failureMessage(err)}`);
        });
      }
      if (input.dryRun) {
        const planned = samplesPlanned(step.window, input.sampleInterval);
        status.actions.push(`would watch ${formatDuration(step.window)}: ${planned} samples every ${formatDuration(input.sampleInterval)}, gate ${JSON.stringify(status.plan.gate)}`);
        const result = await sample(i, 1, planned);
        status.actions.push(`${stepLabel(i)}: metrics now: ${describeGateResult(result)} → would ${result.verdict === 'fail' ? 'roll back' : result.verdict === 'pass' ? 'continue' : 'count it inconclusive'}`);
        if (result.verdict === 'fail') throw new Stop('gate', describeGateResult(result), result);
        continue;
      }
      await monitor(i, resuming ? carried!.samplesTaken : 0, resuming ? carried!.windowStartedAt : now());
    } catch (err) {
      if (err instanceof Stop) {
        if (input.dryRun) {
          status.actions.push(`would roll back ${stepLabel(i)}: ${err.message}`);
          await rollBack(i, err);
          setState('dry-run-done');
          return result('dry-run');
        }
        throw await rollBack(i, err);
      }
      if (err instanceof wf.ContinueAsNew) throw err;
      // Anything unforeseen in a step still leaves the LB as it was before the rollout.
      throw await rollBack(i, new Stop('error', `unexpected error: ${failureMessage(err)}`));
    }
  }

  // ---- success: tell stakeholders, then clean up the old system
  status.window = undefined;
  await notify('go-live', 'info', `Rollout of ${input.service} succeeded: 100 % on ${input.backends.new}`,
    `Go-live succeeded: all ${n} steps passed their gates. ${input.cleanup === 'none' ? `${input.backends.old} is left as it is.` : `${input.backends.old} is set to ${input.cleanup} on ${input.lb}.`}`,
    { steps: n, split: status.weights }, input.stakeholders ?? input.notify);
  if (input.cleanup !== 'none') {
    setState('cleaning-up');
    if (input.dryRun) status.actions.push(`would set ${input.backends.old} to ${input.cleanup} on ${input.lb}`);
    else {
      const state = await acts.setLoadBalancerServerState.executeWithOptions(
        withSummary(lbOptions, `clean up: ${input.backends.old} to ${input.cleanup} on ${input.lb}`),
        [{ lb: input.lb, server: input.backends.old, state: input.cleanup }],
      );
      decide(`clean-up: ${input.backends.old} reads back ${state} on ${input.lb}`);
    }
  }
  setState(input.dryRun ? 'dry-run-done' : 'succeeded');
  return result(input.dryRun ? 'dry-run' : 'succeeded');

  function result(outcome: RolloutResult['outcome']): RolloutResult {
    return {
      service: input.service,
      outcome,
      stepsCompleted: status.step,
      finalSplit: status.weights,
      oldBackend: input.backends.old,
      cleanup: input.cleanup,
      decisions: status.decisions,
      actions: status.actions,
    };
  }
}

import { z } from 'zod';
import { addIssue } from '../validation';
import { count, flag, targetNames, texts } from '../fields';
import { approvalSetting } from '../approval';
import { targetName } from '../names';
import { gateThresholds, type GateThresholds } from '../gate/evaluate';
import { inconclusivePolicy } from '../gate/policy';
import { duration, formatDuration, isParsedDuration } from '../duration';
import { baselineGateSpec, explicitOrFromBaseline, isBaselineRef } from '../baseline/gate';

/** A server (HAProxy), upstream member (nginx) or system (HTTP API) of a load balancer. */
export const lbServerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a server name: letters, digits, ".", "_" or "-"');

/** Re-exported: the rollout was the first user of the one duration format (domain/duration.ts). */
export { formatDuration };

const rolloutStep = z
  .object({
    /** Percent of traffic to the new backend. */
    weight: count.max(100),
    /** The monitoring window after the weights are set. */
    window: duration,
    /** Cohorts that get the new system in this step, where the LB can route by cohort (HTTP API). */
    targetUsers: texts.optional(),
    /** Wait for `approve` before this step (overrides `requireApproval`); `{ approvers: 2, forbidStarter: true }` asks more. */
    approval: approvalSetting.optional(),
  })
  .strict();

/** runbooks §1: 10 % for 30 min (internal users first), 30 % for 60 min, 100 % for 120 min. */
const defaultSteps = [
  { weight: 10, window: '30m', targetUsers: ['internal'] },
  { weight: 30, window: '60m' },
  { weight: 100, window: '120m' },
];

const cleanupAction = z.enum(['drain', 'maint', 'none']);

export const phasedRolloutInput = z
  .object({
    service: targetName,
    /** The load balancer's name in the worker config (`loadBalancers.<name>`). */
    lb: targetName,
    backends: z
      .object({ old: lbServerName, new: lbServerName })
      .strict()
      .refine((b) => b.old !== b.new, { message: 'old and new must be different servers', path: ['new'] }),
    steps: z
      .array(rolloutStep)
      .min(1)
      .prefault(defaultSteps)
      .superRefine((steps, ctx) => {
        steps.forEach((s, i) => {
          if (i > 0 && s.weight <= steps[i - 1].weight)
            addIssue(
              ctx,
              [i, 'weight'],
              `weights must rise: step ${i + 1} has ${s.weight} % after ${steps[i - 1].weight} %`,
            );
        });
        if (steps.length > 0 && steps[steps.length - 1].weight !== 100)
          addIssue(ctx, [steps.length - 1, 'weight'], 'the last step must send 100 % to the new backend');
      }),
    /**
     * Maximum per metric; omitted: runbooks §1's gate, limited to the metrics the sources provide.
     * `{ "fromBaseline": "<service>" }`: the critical thresholds of the service's latest complete
     * baseline, resolved once when the run plans (the config name check cannot see baselines).
     */
    gate: explicitOrFromBaseline(gateThresholds, baselineGateSpec).optional(),
    /** Metric sources' names in the worker config (`metricSources.<name>`). */
    metricSources: targetNames.min(1, 'a health gate needs at least one metric source'),
    sampleInterval: duration.prefault('60s'),
    /** Failed samples in a row that roll back. */
    failuresToRollback: count.default(1),
    inconclusive: inconclusivePolicy.prefault({}),
    /** How long a rollout held for inconclusive samples waits for a person before it rolls back. */
    holdTimeout: duration.prefault('30m'),
    /** Wait for `approve` before every step. */
    requireApproval: flag,
    /** Notifiers told of rollbacks, holds and aborts. */
    notify: targetNames.default([]),
    /** Notifiers told of the go-live; default: `notify`. */
    stakeholders: targetNames.optional(),
    /** What happens to the old backend after success. */
    cleanup: cleanupAction.default('drain'),
    /** Continue as new beyond this many history events (Temporal may suggest it earlier). */
    maxHistoryEvents: z.number().int().min(100).max(50_000).default(10_000),
    /** Evaluate the gates and report every action, touching nothing. */
    dryRun: flag,
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.gate && !isBaselineRef(input.gate) && Object.keys(input.gate).length === 0)
      addIssue(ctx, ['gate'], 'a gate needs at least one metric (or leave gate out for the defaults)');
    // Only between two valid durations: a bad one already has its own message, and a second line
    // comparing it ("window -5s is shorter than ...") would only repeat it less clearly.
    input.steps.forEach((s, i) => {
      if (isParsedDuration(s.window) && isParsedDuration(input.sampleInterval) && s.window < input.sampleInterval)
        addIssue(
          ctx,
          ['steps', i, 'window'],
          `window ${formatDuration(s.window)} is shorter than sampleInterval ${formatDuration(input.sampleInterval)}`,
        );
    });
  });

export type PhasedRolloutInputRaw = z.input<typeof phasedRolloutInput>;
export type PhasedRolloutInput = z.infer<typeof phasedRolloutInput>;

/** One rollout per service at a time: the workflow id is the service's, so Temporal refuses a second. */
export function rolloutWorkflowId(service: string): string {
  return `rollout-${service}`;
}

/** A rollout input whose gate is numbers: one from a baseline is resolved before the run plans. */
export type PlannableRollout = Omit<PhasedRolloutInput, 'gate'> & { gate?: GateThresholds };

/** What the gate of a rollout judges, resolved against the sources the config has. */
export interface RolloutPlan {
  lbKind: string;
  supportsCohorts: boolean;
  gate: GateThresholds;
  /** Which sources report which metric. */
  providers: Record<string, string[]>;
  /** Things a person should know (default gate metrics dropped for want of a source, cohorts ignored). */
  notes: string[];
}

/** Weights for an LB that splits by weight: new gets `percent`, old the rest. */
export function weightsFor(newPercent: number): { old: number; new: number } {
  return { old: 100 - newPercent, new: newPercent };
}

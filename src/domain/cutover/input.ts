import { z } from 'zod';
import { addIssue } from '../validation';
import { count, flag, targetNames } from '../fields';
import { approvalSetting } from '../approval';
import { targetName } from '../names';
import { duration, formatDuration, isParsedDuration } from '../duration';
import { inconclusivePolicy } from '../gate/policy';
import type { GateThresholds } from '../gate/evaluate';
import type { UnknownName } from '../config-names';
import { baselineGateSpec, explicitOrFromBaseline, isBaselineRef, type ParsedBaselineGateSpec } from '../baseline/gate';
import { cohort, cohortFields, cohortsOverlap, describeCohort } from './cohort';
import { parseStartAt } from './schedule';

/** The metrics a cutover batch's thresholds may name (runbooks §3's rollback rule). */
export const batchMetrics = ['errorRatePercent', 'responseTimeMs', 'complaints'] as const;

const batchName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'a batch name: letters, digits, " ", ".", "_" or "-" (max 63)');

/** runbooks §3's fixed limits besides the error rate: mean response above 5 s, more than 10 complaints. */
const RUNBOOK_RESPONSE_MS = 5_000;
const RUNBOOK_COMPLAINTS = 10;

/**
 * runbooks §3's rollback rule: error rate above the batch's threshold, mean response above 5 s, more
 * than 10 complaints. A batch names any of them (at least one), and each one named needs a metric
 * source that reports it (`cutoverGateSourceIssues`). One not named keeps the runbook's fixed limit
 * (`batchGate`) where a source reports it: the error rate has none, so a complaints-only cutover
 * is judged on complaints alone.
 */
const batchThresholds = z
  .object({
    errorRatePercent: z.number().gt(0, 'must be above 0 %').max(100, 'must be at most 100 %').optional(),
    responseTimeMs: z
      .number()
      .gt(0, 'must be above 0 ms')
      .max(600_000, 'must be at most 600000 ms (10 min)')
      .optional(),
    complaints: z.number().int().min(0, 'must be 0 or more').max(1_000_000, 'must be at most 1000000').optional(),
  })
  .strict()
  .refine((t) => batchMetrics.some((m) => t[m] !== undefined), `name at least one of ${batchMetrics.join(', ')}`);
export type BatchThresholds = z.infer<typeof batchThresholds>;

/**
 * A batch's numbers, or `{ "fromBaseline": "<service>", … }`: the critical thresholds of the
 * service's latest baseline (rules of `baselineGateSpec`), resolved once when the run starts.
 */
const cutoverThresholds = explicitOrFromBaseline(batchThresholds, baselineGateSpec);
export type CutoverThresholds = z.output<typeof cutoverThresholds>;

const cutoverBatch = z
  .object({
    name: batchName,
    cohort,
    /** `"+4h"` after the workflow's start, or an ISO time with its zone. */
    startAt: z.string().superRefine((s, ctx) => {
      const p = parseStartAt(s);
      if (!p.ok) ctx.addIssue({ code: 'custom', message: p.message });
    }),
    /** Omitted: the input's `thresholds`. */
    thresholds: cutoverThresholds.optional(),
    /** The monitoring window: the runbook means minutes; opsflow takes durations ("30m"). */
    window: duration,
    /** Overrides the input's `sampleInterval` for this batch. */
    sampleInterval: duration.optional(),
    /** Wait for `approve` before this batch moves anyone (overrides `requireApproval`); `{ approvers: 2, forbidStarter: true }` asks more. */
    approval: approvalSetting.optional(),
  })
  .strict();
export type CutoverBatchRaw = z.input<typeof cutoverBatch>;

/** runbooks §3's table: IT at +1 h (10 %, 30 min), managers at +4 h (5 %, 60 min), Sales at +8 h (3 %, 120 min), HR/Finance/Operations at +1 d (2 %, 180 min). */
const defaultBatches: CutoverBatchRaw[] = [
  {
    name: 'IT department',
    cohort: { department: ['IT'] },
    startAt: '+1h',
    thresholds: { errorRatePercent: 10 },
    window: '30m',
  },
  {
    name: 'managers',
    cohort: { role: ['manager'] },
    startAt: '+4h',
    thresholds: { errorRatePercent: 5 },
    window: '60m',
  },
  {
    name: 'Sales',
    cohort: { department: ['Sales'] },
    startAt: '+8h',
    thresholds: { errorRatePercent: 3 },
    window: '120m',
  },
  {
    name: 'everyone else',
    cohort: { department: ['HR', 'Finance', 'Operations'] },
    startAt: '+1d',
    thresholds: { errorRatePercent: 2 },
    window: '180m',
  },
];

export const userCutoverInput = z
  .object({
    service: targetName,
    /** `directories.<name>` in the worker config: where cohorts' members are listed. */
    directory: targetName,
    /** `routers.<name>` in the worker config: where each user's system is set. */
    router: targetName,
    /** `metricSources.<name>`: each batch's gate reads its cohort's own numbers (`$cohort` in queries). */
    metricSources: targetNames.min(1, 'a batch gate needs at least one metric source'),
    /** The thresholds of every batch that names none of its own (numbers or `fromBaseline`). */
    thresholds: cutoverThresholds.optional(),
    batches: z
      .array(cutoverBatch)
      .min(1, 'name at least one batch')
      .max(50, 'at most 50 batches')
      .prefault(defaultBatches),
    /** The runbook samples every 60 s. */
    sampleInterval: duration.prefault('60s'),
    /** At least this long between the end of one batch's window and the next batch's start. */
    minGap: duration.prefault('1h'),
    failuresToRollback: count.default(1),
    inconclusive: inconclusivePolicy.prefault({}),
    /** How long a batch held for inconclusive samples waits for a person before it rolls back. */
    holdTimeout: duration.prefault('30m'),
    requireApproval: flag,
    notify: targetNames.default([]),
    /** Told when the whole plan has moved; default: `notify`. */
    stakeholders: targetNames.optional(),
    maxHistoryEvents: z.number().int().min(100).max(50_000).default(10_000),
  })
  .strict()
  .superRefine((input, ctx) => {
    const seen = new Map<string, number>();
    input.batches.forEach((b, i) => {
      const before = seen.get(b.name.toLowerCase());
      if (before !== undefined)
        addIssue(ctx, ['batches', i, 'name'], `"${b.name}" is already batch ${before + 1}'s name`);
      seen.set(b.name.toLowerCase(), i);
      if (b.thresholds === undefined && input.thresholds === undefined)
        addIssue(ctx, ['batches', i, 'thresholds'], "give the batch's thresholds here or the input's thresholds");
      if (b.cohort === 'rest' && i !== input.batches.length - 1)
        addIssue(
          ctx,
          ['batches', i, 'cohort'],
          '"rest" moves everyone not moved yet, so it can only be the last batch',
        );
      if (b.cohort !== 'rest') {
        for (let j = 0; j < i; j++) {
          const other = input.batches[j].cohort;
          if (other !== 'rest' && cohortsOverlap(other, b.cohort))
            addIssue(
              ctx,
              ['batches', i, 'cohort'],
              `${describeCohort(b.cohort)} overlaps batch ${j + 1} (${describeCohort(other)}): name each value in one batch only`,
            );
        }
      }
      const interval = b.sampleInterval ?? input.sampleInterval;
      if (isParsedDuration(b.window) && isParsedDuration(interval) && b.window < interval)
        addIssue(
          ctx,
          ['batches', i, 'window'],
          `window ${formatDuration(b.window)} is shorter than sampleInterval ${formatDuration(interval)}`,
        );
    });
  });

export type UserCutoverInputRaw = z.input<typeof userCutoverInput>;
export type UserCutoverInput = z.infer<typeof userCutoverInput>;

/** One cutover per service at a time: Temporal refuses a second run with the same id. */
export const cutoverWorkflowId = (service: string) => `cutover-${service}`;

/**
 * A batch's rule as the rollout's gate takes it: every value above its maximum fails. What the
 * batch does not name keeps runbooks §3's fixed limit (the plan leaves out what no source reports).
 */
export function batchGate(t: BatchThresholds): GateThresholds {
  const named = Object.fromEntries(batchMetrics.filter((m) => t[m] !== undefined).map((m) => [m, t[m]]));
  return { responseTimeMs: RUNBOOK_RESPONSE_MS, complaints: RUNBOOK_COMPLAINTS, ...named };
}

/** Batch `i`'s thresholds: its own, else the input's (the schema refuses a batch with neither). */
export function thresholdsOf(input: UserCutoverInput, i: number): CutoverThresholds {
  const t = input.batches[i].thresholds ?? input.thresholds;
  if (t === undefined) throw new Error(`batches.${i}.thresholds: none given`);
  return t;
}

/** Names one baseline reference, so batches sharing it are resolved once. */
export const baselineRefKey = (spec: ParsedBaselineGateSpec) => JSON.stringify(spec);

/** The distinct baseline references the batches use, each with the batches (by index) judged by it. */
export function baselineRefs(
  input: UserCutoverInput,
): { key: string; spec: ParsedBaselineGateSpec; batches: number[] }[] {
  const refs = new Map<string, { key: string; spec: ParsedBaselineGateSpec; batches: number[] }>();
  input.batches.forEach((_, i) => {
    const t = thresholdsOf(input, i);
    if (!isBaselineRef(t)) return;
    const key = baselineRefKey(t);
    const ref = refs.get(key) ?? { key, spec: t, batches: [] };
    ref.batches.push(i);
    refs.set(key, ref);
  });
  return [...refs.values()];
}

/**
 * A batch's gate from a baseline: the baseline's critical maximums, under runbooks §3's fixed limits
 * on mean response and complaints (a baseline measures neither).
 */
export function baselineBatchGate(fromBaseline: GateThresholds): GateThresholds {
  return { responseTimeMs: RUNBOOK_RESPONSE_MS, complaints: RUNBOOK_COMPLAINTS, ...fromBaseline };
}

/** What the directory must be able to filter on: checked against `directories.<name>.fields`. */
export function directoryFieldIssues(
  input: UserCutoverInput,
  fields: readonly string[],
  directory: string,
): UnknownName[] {
  return input.batches.flatMap((b, i) =>
    cohortFields(b.cohort)
      .filter((f) => !fields.includes(f))
      .map((f) => ({
        field: `batches.${i}.cohort.${f}`,
        name: f,
        what: `a field of directory ${directory}`,
        known: [...fields],
      })),
  );
}

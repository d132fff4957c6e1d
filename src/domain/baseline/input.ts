import { z } from 'zod';
import { count, targetNames } from '../fields';
import { targetName } from '../names';
import { durationField } from '../duration';
import { defaultMinimums } from './thresholds';
import type { GroupKind } from './samples';

/** A window shorter than a second cannot hold a tick; an interval under a second would hammer the service. */
const MIN_INTERVAL_MS = 1_000;

/**
 * Input of `performanceBaselineWorkflow` (runbooks §5). Groups name config targets; every group is
 * sampled in parallel for the whole window.
 */
export const baselineInput = z
  .object({
    /** The service the baseline describes; a rollout's gate finds the baseline by it. */
    service: targetName,
    groups: z
      .object({
        /** CPU, memory and disk I/O of the worker's host. */
        host: z.boolean().default(true),
        http: targetNames.default([]),
        postgres: targetNames.default([]),
        redis: targetNames.default([]),
      })
      .strict()
      .default({ host: true, http: [], postgres: [], redis: [] })
      .refine(
        (g) => g.host || g.http.length + g.postgres.length + g.redis.length > 0,
        'at least one group to sample (host, http, postgres or redis)',
      ),
    duration: durationField(MIN_INTERVAL_MS).default(3_600_000),
    interval: durationField(MIN_INTERVAL_MS).default(10_000),
    /** Requests each HTTP target gets per tick; the latency percentiles are over all of them. */
    requestsPerSample: count.max(100).default(3),
    /** Below these a threshold is "insufficient data". */
    minimums: z
      .object({
        samples: z.number().int().min(2).default(defaultMinimums.samples),
        requests: count.default(defaultMinimums.requests),
      })
      .strict()
      .default(defaultMinimums),
    /** Notifiers sent the Markdown report at the end. */
    notify: targetNames.default([]),
  })
  .strict()
  .refine((i) => i.duration >= i.interval, { path: ['duration'], message: 'must be at least one interval long' });
export type BaselineInput = z.input<typeof baselineInput>;
export type BaselinePlan = z.output<typeof baselineInput>;

export interface SampledGroup {
  /** `host`, `http:checkout`, `postgres:main`, `redis:cache`: unique in a run, and the key of its samples. */
  id: string;
  kind: GroupKind;
  target?: string;
}

/** The groups of a parsed input, host first, each with its id. */
export function sampledGroups(g: BaselinePlan['groups']): SampledGroup[] {
  return [
    ...(g.host ? [{ id: 'host', kind: 'host' as const }] : []),
    ...(['http', 'postgres', 'redis'] as const).flatMap((kind) =>
      [...new Set(g[kind])].map((target) => ({ id: `${kind}:${target}`, kind, target })),
    ),
  ];
}

export const baselineWorkflowId = (service: string) => `baseline-${service}`;

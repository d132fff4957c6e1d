import { z } from 'zod';
import { count, flag, nonNegative, targetNames } from '../fields';
import { targetName } from '../names';
import { duration } from '../duration';
import { releaseNamePattern } from './release';
import { approvalRule } from '../approval';

/**
 * A git ref as an operator writes it: a branch, a tag or a commit id. Never starting with "-" so it
 * can never become an option of `git`, and without the characters git itself refuses in a ref.
 */
const gitRef = z
  .string()
  .min(1, 'a branch, tag or commit')
  .max(200)
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9._/@{}^~+-]*$/,
    'a branch, tag or commit (letters, digits, "._/-"; not starting with "-")',
  )
  .refine(
    (s) => !s.includes('..') && !s.endsWith('.lock') && !s.endsWith('/'),
    'a branch, tag or commit (no "..", no trailing "/" or ".lock")',
  );

/**
 * Hosts per batch: a count (3) or a share of the fleet ("30%"), as Ansible's `serial`. Zero would
 * plan batches that never end, so it is refused here rather than found in the loop.
 */
const serial = z.union(
  [
    z.number().int('a whole number of hosts').min(1, 'at least 1 host per batch (serial 0 would deploy nothing)'),
    z
      .string()
      .regex(/^\d{1,3}(\.\d+)?%$/, 'a number of hosts or a percentage such as "30%"')
      .refine(
        (s) => parseFloat(s) > 0 && parseFloat(s) <= 100,
        'a percentage above 0 % and at most 100 % (serial 0 would deploy nothing)',
      ),
  ],
  { error: (iss) => `a number of hosts (at least 1) or a percentage such as "30%", not ${JSON.stringify(iss.input)}` },
);
export type Serial = z.infer<typeof serial>;

const percent = nonNegative.max(100);

/** The failure budget: above this share of failed hosts the deploy stops (Ansible's max_fail_percentage). */
const maxFailPercent = z.preprocess(
  (v) => (typeof v === 'number' ? { batch: v, fleet: v } : v),
  z.object({ batch: percent.default(0), fleet: percent.default(0) }).strict(),
);

/** runbooks §7: five attempts ten seconds apart. */
const healthCheck = z
  .object({
    attempts: count.max(100).default(5),
    interval: duration.prefault('10s'),
  })
  .strict();

/** Where a person must `approve` before the deploy goes on. */
const approval = z.enum(['none', 'first-host', 'each-batch']);

const common = {
  service: targetName,
  /** Default: every host of the service in the worker config, in config order. */
  hosts: targetNames
    .min(1, 'name at least one host (or leave hosts out for all of the service)')
    .refine((h) => new Set(h).size === h.length, 'a host is named twice')
    .optional(),
  serial: serial.default(1),
  maxFailPercent: maxFailPercent.prefault({}),
  healthCheck: healthCheck.prefault({}),
  approval: approval.default('none'),
  /**
   * Who may answer the run's approvals, the batch approvals `approval` asks for and a stuck drain's:
   * `{ approvers: 2, forbidStarter: true }` needs two distinct people, neither the one who started
   * the run. Default: one person, anyone. With `approval: none` it still rules the stuck drains.
   */
  approvalRule: approvalRule.optional(),
  /** How long a drain may wait for sessions to reach 0 before it asks a person. */
  drainTimeout: duration.prefault('2m'),
  notify: targetNames.default([]),
  /**
   * History events after which the deploy or rollback continues as new between batches, and a
   * stopped deploy's fleet rollback between hosts (Temporal's own suggestion counts too). Low
   * values are for tests; a host's saga is ~40 events.
   */
  maxHistoryEvents: z.number().int().min(10, 'at least 10 events').max(50_000).default(10_000),
};

export const deployInput = z
  .object({
    ...common,
    ref: gitRef,
    keepReleases: z.number().int().min(1, 'keep at least 1 complete release').max(100).default(5),
    /** When a batch goes over budget, roll back the hosts already upgraded as well as the failed ones. */
    rollbackFleetOnFailure: flag,
  })
  .strict();
export type DeployInputRaw = z.input<typeof deployInput>;

export const rollbackDeployInput = z
  .object({
    ...common,
    /** A complete release by name (`20261124033400-<commit>`); default: each host's previous complete one. */
    release: z.string().regex(releaseNamePattern, 'a release name such as 20261124033400-<commit>').optional(),
  })
  .strict();
export type RollbackDeployInputRaw = z.input<typeof rollbackDeployInput>;

/** One deploy (or rollback) per service at a time: the running workflow is the lock. */
export function deployWorkflowId(service: string): string {
  return `deploy-${service}`;
}

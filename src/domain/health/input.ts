import { z } from 'zod';
import { targetNames, unitNames } from '../fields';

import { resourceThresholds } from './report';
import { baselineLevelsSpec, explicitOrFromBaseline } from '../baseline/gate';

/**
 * Input of `healthCheckWorkflow`. Every field is optional: a list left out means "everything the
 * worker's config names" (what the scheduled run wants); a list given narrows the check to it.
 */
export const healthCheckInput = z
  .object({
    targets: z
      .object({
        systemd: unitNames.optional(),
        http: targetNames.optional(),
        postgres: targetNames.optional(),
        redis: targetNames.optional(),
        hosts: targetNames.optional(),
        /** Backup sets whose latest verified copy's age is checked (config.backups; default: every set). */
        backups: targetNames.optional(),
        /** CPU, memory and disk of the worker's host. */
        resources: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /**
     * Warning and critical per resource; omitted: config.thresholds. `{ "fromBaseline": "<service>" }`:
     * CPU and memory from the service's latest complete baseline (disk from config.thresholds),
     * resolved once at the start of the run.
     */
    thresholds: explicitOrFromBaseline(resourceThresholds, baselineLevelsSpec).optional(),
    /** Notifiers to alert when anything is down or critical; default: config.healthCheckNotify. */
    notify: targetNames.optional(),
  })
  .strict();
export type HealthCheckInput = z.infer<typeof healthCheckInput>;

/** The checks one run performs, every list resolved against the config. */
export interface HealthCheckPlan {
  systemd: string[];
  http: string[];
  postgres: string[];
  redis: string[];
  hosts: string[];
  /** Backup sets to check; absent in plans made before backups were checked. */
  backups?: string[];
  resources: boolean;
  thresholds: z.infer<typeof resourceThresholds>;
  notify: string[];
}

import { z } from 'zod';
import { targetName, unitName } from './names';
import { resourceThresholds } from './health';

/**
 * Input of `healthCheckWorkflow`. Every field is optional: a list left out means "everything the
 * worker's config names" (what the scheduled run wants); a list given narrows the check to it.
 */
export const healthCheckInput = z
  .object({
    targets: z
      .object({
        systemd: z.array(unitName).optional(),
        http: z.array(targetName).optional(),
        postgres: z.array(targetName).optional(),
        redis: z.array(targetName).optional(),
        hosts: z.array(targetName).optional(),
        /** CPU, memory and disk of the worker's host. */
        resources: z.boolean().optional(),
      })
      .strict()
      .optional(),
    thresholds: resourceThresholds.optional(),
    /** Notifiers to alert when anything is down or critical; default: config.healthCheckNotify. */
    notify: z.array(targetName).optional(),
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
  resources: boolean;
  thresholds: z.infer<typeof resourceThresholds>;
  notify: string[];
}

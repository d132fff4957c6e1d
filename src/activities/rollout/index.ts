import type { OpsflowConfig } from '../../config/schema';
import { planRollout } from './plan';

/** The phased rollout's own step: its plan, resolved against the config before anything moves. */
export function rolloutActivities(config: OpsflowConfig) {
  return { planRollout: planRollout(config) };
}

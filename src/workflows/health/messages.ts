// Why: a health check takes no operator messages, only the `status` query; it is declared here, with
// the status it answers, like every long workflow's, so the CLI and the tests import the definition
// instead of spelling the name.
import type { HealthReport } from '../../domain/health/report';
import type { HealthCheckPlan } from '../../domain/health/input';
import type { ResolvedBaselineLevels } from '../../domain/baseline/gate';
import { defineStatusQuery } from '../common/messages';

export interface HealthCheckStatus {
  phase: 'planning' | 'checking' | 'notifying' | 'done' | 'failed' | 'cancelled';
  /** Why a run that did not finish ended, in words. */
  failure?: string;
  plan?: HealthCheckPlan;
  /** Thresholds taken from a baseline: the levels, where each came from, when it was taken. */
  thresholdsFrom?: ResolvedBaselineLevels;
  report?: HealthReport;
  notified: string[];
}

export const statusQuery = defineStatusQuery<HealthCheckStatus>();

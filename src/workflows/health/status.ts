// What a health check shows: the shape its `status` query answers.
import type { HealthReport } from '../../domain/health/report';
import type { HealthCheckPlan } from '../../domain/health/input';
import type { ResolvedBaselineLevels } from '../../domain/baseline/gate';

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

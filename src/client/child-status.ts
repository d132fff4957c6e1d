import type { Client } from '@temporalio/client';
import { anyStatusQuery } from '../workflows/common/messages';

interface StagesStatus {
  stages: { workflowId: string; runId?: string; child?: unknown }[];
}

const hasStages = (s: unknown): s is StagesStatus =>
  typeof s === 'object' &&
  s !== null &&
  Array.isArray((s as StagesStatus).stages) &&
  (s as StagesStatus).stages.every((x) => typeof x?.workflowId === 'string');

/**
 * A composite run's `status` with each started child's own `status` beside its stage (workflow
 * code cannot query another workflow; the client can). A child that cannot answer says why.
 */
export async function withChildStatus(client: Client, status: unknown): Promise<unknown> {
  if (!hasStages(status)) return status;
  await Promise.all(
    status.stages
      .filter((s) => s.runId)
      .map(async (s) => {
        try {
          // By id, not run: a child that continued as new answers from its latest run.
          s.child = await client.workflow.getHandle(s.workflowId).query(anyStatusQuery);
        } catch (err) {
          s.child = { unavailable: (err as Error).message };
        }
      }),
  );
  return status;
}

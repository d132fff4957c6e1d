import type { Client } from '@temporalio/client';
import type { Evidence } from '../../domain/readiness/evidence';
import { formatDuration } from '../../domain/duration';

/**
 * The newest health check that completed with every target healthy within `withinMs`, from
 * Temporal visibility (the workflow sets OpsflowHealth from its report).
 */
export async function lastGreenHealthCheck(client: Client, withinMs: number, now = new Date()): Promise<Evidence[]> {
  const since = new Date(now.getTime() - withinMs).toISOString();
  const query = `WorkflowType = 'healthCheckWorkflow' AND ExecutionStatus = 'Completed' AND CloseTime > '${since}'`;
  let newest: { id: string; closed: Date; health: string } | undefined;
  let runs = 0;
  for await (const wf of client.workflow.list({ query, pageSize: 100 })) {
    runs++;
    const health = String(wf.searchAttributes?.OpsflowHealth?.[0] ?? 'unknown');
    if (health === 'healthy' && wf.closeTime && (!newest || wf.closeTime > newest.closed))
      newest = { id: wf.workflowId, closed: wf.closeTime, health };
    if (runs >= 1000) break;
  }
  return [
    {
      what: 'green health check',
      value: newest ? `${newest.id} at ${newest.closed.toISOString()}` : `none green (${runs} completed in the window)`,
      threshold: `within ${formatDuration(withinMs)}`,
      target: 'Temporal visibility',
      at: now.toISOString(),
      ok: newest !== undefined,
    },
  ];
}

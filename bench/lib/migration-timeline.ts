import type { Client } from '@temporalio/client';

/**
 * Where a migration run's time went, from its history (every run of a continue-as-new chain):
 * per activity type the count and summed time from scheduled to completed (of which the wait for a
 * worker to start it, scheduled to started), and the wall time from the first event to the last,
 * so the orchestration's share shows beside the work's.
 */
export async function activityBreakdown(client: Client, workflowId: string): Promise<string> {
  const ms = (t: unknown) => {
    const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number } | undefined;
    const s = typeof ts?.seconds === 'number' ? ts.seconds : (ts?.seconds?.toNumber() ?? 0);
    return s * 1000 + (ts?.nanos ?? 0) / 1e6;
  };
  const byType = new Map<string, { n: number; ms: number; wait: number; first: number; last: number }>();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let tasks = 0;
  let runId: string | undefined;
  for (;;) {
    const h = client.workflow.getHandle(workflowId, runId);
    const history = await h.fetchHistory();
    const scheduled = new Map<string, { type: string; at: number }>();
    const started = new Map<string, number>();
    let next: string | undefined;
    for (const e of history.events ?? []) {
      const at = ms(e.eventTime);
      first = Math.min(first, at);
      last = Math.max(last, at);
      if (e.workflowTaskCompletedEventAttributes) tasks++;
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at });
      const st = e.activityTaskStartedEventAttributes;
      if (st) started.set(String(st.scheduledEventId), at);
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const sch = scheduled.get(String(c.scheduledEventId));
        if (sch) {
          const b = byType.get(sch.type) ?? { n: 0, ms: 0, wait: 0, first: sch.at, last: at };
          b.first = Math.min(b.first, sch.at);
          b.last = Math.max(b.last, at);
          b.n++;
          b.ms += at - sch.at;
          b.wait += (started.get(String(c.scheduledEventId)) ?? sch.at) - sch.at;
          byType.set(sch.type, b);
        }
      }
      const can = e.workflowExecutionContinuedAsNewEventAttributes;
      if (can) next = can.newExecutionRunId ?? undefined;
    }
    if (!next) break;
    runId = next;
  }
  const rows = [...byType.entries()].sort((a, b) => b[1].ms - a[1].ms);
  return [
    `  history wall ${(last - first).toFixed(0)} ms, ${tasks} workflow tasks`,
    ...rows.map(
      ([type, b]) =>
        `  ${type.padEnd(28)} ${String(b.n).padStart(4)} × ${(b.ms / b.n).toFixed(1).padStart(7)} ms = ${b.ms.toFixed(0)} ms` +
        ` (waiting to start ${b.wait.toFixed(0)} ms; first scheduled to last done ${(b.last - b.first).toFixed(0)} ms)`,
    ),
  ].join('\n');
}

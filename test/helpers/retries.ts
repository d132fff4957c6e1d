import type { WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';

/** temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT */
export const HEARTBEAT_TIMEOUT = 4;

export interface RetriedAttempt {
  activityType: string;
  /** The first scheduled argument, as JSON. */
  input: string;
  attempt: number;
  /** Why the attempt before failed: the timeout type when it timed out. */
  timeoutType?: number | null;
}

/**
 * Every activity attempt after the first in a run's history, with why the attempt before it ended:
 * a crash test asserts that a worker's death was noticed by a heartbeat timeout (seconds), not by
 * the start-to-close timeout (minutes).
 */
export async function retriedAttempts(handle: WorkflowHandle): Promise<RetriedAttempt[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  // The history is raw: its payloads go through the handle's codecs (the encrypted mode's), last first.
  const codecs = [...handle.client.options.loadedDataConverter.payloadCodecs].reverse();
  const decode = async (p: Payload | undefined) => {
    for (const c of codecs) if (p) [p] = await c.decode([p]);
    return p;
  };
  const scheduled = new Map<string, { activityType: string; input: string }>();
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a)
      scheduled.set(String(e.eventId), {
        activityType: a.activityType?.name ?? '',
        input: Buffer.from((await decode(a.input?.payloads?.[0] ?? undefined))?.data ?? []).toString(),
      });
  }
  return events.flatMap((e) => {
    const s = e.activityTaskStartedEventAttributes;
    if (!s || (s.attempt ?? 1) < 2) return [];
    return [
      {
        ...scheduled.get(String(s.scheduledEventId))!,
        attempt: s.attempt!,
        timeoutType: s.lastFailure?.timeoutFailureInfo?.timeoutType,
      },
    ];
  });
}

import { Context } from '@temporalio/activity';

/**
 * Runs `fn` while heartbeating every `everyMs`, so that Temporal notices a worker that died in the
 * middle of a long activity within the heartbeat timeout rather than at the start-to-close timeout
 * (minutes, during which the workflow waits on a dead process). Outside an activity it just runs.
 */
export async function whileHeartbeating<T>(fn: () => Promise<T>, everyMs = 2_000): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  const beat = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** The same activities, each one running while it heartbeats (see whileHeartbeating). */
export function heartbeating<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [name, (...args: never[]) => whileHeartbeating(() => fn(...args))]),
  ) as T;
}

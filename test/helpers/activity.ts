import { MockActivityEnvironment } from '@temporalio/testing';

/**
 * Runs an activity function in an activity context, as a worker would (activities log and
 * heartbeat through it), with its return type kept: MockActivityEnvironment.run types it unknown.
 */
export function runActivity<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
}

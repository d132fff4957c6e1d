import { ApplicationFailure, type Logger, type LogLevel, type LogMetadata } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { resolvedSecrets } from '../config/secrets';
import type { SecretScrubber } from '../domain/secret-scrub';

/**
 * The one door every activity's output passes through on its way to history: its result, and the
 * message, stack, details and causes of what it throws, are scrubbed of every secret the worker
 * resolved. Adapters then need not remember to do it, and a system that echoes a token in its error
 * body ("401 invalid token: Bearer …") cannot put it in front of everyone who reads the run.
 */

/** Sets a property to its scrubbed text; errors whose `message` is a getter get an own value. */
function scrubProperty(target: object, key: string, scrubber: SecretScrubber): boolean {
  const before: unknown = (target as Record<string, unknown>)[key];
  if (typeof before !== 'string') return true;
  const after = scrubber.text(before);
  if (after === before) return true;
  return (
    defined(target, key, after, key !== 'message' && key !== 'stack') &&
    (target as Record<string, unknown>)[key] === after
  );
}

/** Gives `target` an own `key` of `value`; false when the object does not allow it (frozen, sealed). */
function defined(target: object, key: string, value: unknown, enumerable: boolean): boolean {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
    return true;
  } catch {
    return false;
  }
}

/**
 * `err` with no secret left in its message, stack (the failure's stack trace is kept in history
 * too), details, string fields (a driver's `detail`, `hint`) or causes. The same object where it
 * can be changed, so that its class, type and retry decision stay; otherwise an ApplicationFailure
 * carrying the scrubbed text.
 */
function scrubError(err: unknown, scrubber: SecretScrubber = resolvedSecrets, seen = new Set<unknown>()): unknown {
  if (typeof err === 'string') return scrubber.text(err);
  if (!(err instanceof Error) || seen.has(err)) return err;
  seen.add(err);
  let applied = true;
  for (const key of new Set(['message', 'stack', ...Object.keys(err)])) {
    const v = (err as unknown as Record<string, unknown>)[key];
    if (typeof v === 'string') applied = scrubProperty(err, key, scrubber) && applied;
  }
  const withDetails = err as { details?: unknown };
  if (Array.isArray(withDetails.details))
    applied = defined(err, 'details', scrubber.value(withDetails.details), true) && applied;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined) {
    const clean = scrubError(cause, scrubber, seen);
    if (clean !== cause) applied = defined(err, 'cause', clean, false) && applied;
  }
  if (applied) return err;
  const copy = ApplicationFailure.create({
    message: scrubber.text(err.message),
    type: err.name,
    nonRetryable: err instanceof ApplicationFailure ? Boolean(err.nonRetryable) : false,
    cause: err.cause instanceof Error ? (scrubError(err.cause, scrubber, seen) as Error) : undefined,
  });
  copy.stack = scrubber.text(err.stack ?? '');
  return copy;
}

class ScrubbingInbound implements ActivityInboundCallsInterceptor {
  constructor(private readonly scrubber: SecretScrubber) {}

  async execute(
    input: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[0],
    next: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[1],
  ) {
    try {
      return this.scrubber.value(await next(input));
    } catch (err) {
      throw scrubError(err, this.scrubber);
    }
  }
}

/** The worker's activity interceptor: every activity's result and failure scrubbed on the way out. */
export function scrubbingActivityInterceptor(scrubber: SecretScrubber = resolvedSecrets): ActivityInterceptorsFactory {
  const inbound = new ScrubbingInbound(scrubber);
  return () => ({ inbound });
}

/** A log field as it may be printed: text and data scrubbed, an error as a scrubbed copy. */
function scrubMeta(meta: LogMetadata | undefined, scrubber: SecretScrubber): LogMetadata | undefined {
  if (!meta) return meta;
  return Object.fromEntries(
    Object.entries(meta).map(([k, v]) => {
      if (!(v instanceof Error)) return [k, scrubber.value(v)];
      const copy = new Error(scrubber.text(v.message));
      copy.name = v.name;
      copy.stack = scrubber.text(v.stack ?? '');
      return [k, copy];
    }),
  );
}

/**
 * The worker's logger, scrubbed: the SDK logs a failed activity with its error, activities log
 * what they did, and a log line is read (and shipped) by more people than the history.
 */
export class ScrubbingLogger implements Logger {
  constructor(
    private readonly inner: Logger,
    private readonly scrubber: SecretScrubber = resolvedSecrets,
  ) {}

  log(level: LogLevel, message: string, meta?: LogMetadata) {
    return this.inner.log(level, this.scrubber.text(message), scrubMeta(meta, this.scrubber));
  }
  trace(message: string, meta?: LogMetadata) {
    return this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    return this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    return this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    return this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    return this.log('ERROR', message, meta);
  }
}

import { inspect } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  ApplicationFailure,
  defaultFailureConverter,
  defaultPayloadConverter,
  type LogLevel,
  type LogMetadata,
} from '@temporalio/common';
import { REDACTED, SecretScrubber } from '../../src/domain/secret-scrub';
import { ScrubbingLogger, scrubbingActivityInterceptor } from '../../src/activities/secret-scrubbing';
import { testToken } from '../helpers/tokens';

/**
 * The worker's one door for activity output: whatever an activity returns or throws, with the
 * secret in message, stack, details or cause, comes out (and would be recorded) without it.
 */
describe('the scrubbing activity interceptor', () => {
  const secret = testToken('icpt');
  const scrubber = new SecretScrubber();
  scrubber.add(secret);
  /** What the SDK logs of each activity ("Activity failed" with the error), as it would be printed. */
  const logged: string[] = [];
  const capture = (level: LogLevel, message: string, meta?: LogMetadata) =>
    logged.push(`${level} ${message} ${inspect(meta, { depth: 5 })}`);
  const logger = {
    log: capture,
    trace: capture.bind(null, 'TRACE'),
    debug: capture.bind(null, 'DEBUG'),
    info: capture.bind(null, 'INFO'),
    warn: capture.bind(null, 'WARN'),
    error: capture.bind(null, 'ERROR'),
  };
  const env = new MockActivityEnvironment(undefined, {
    interceptors: [scrubbingActivityInterceptor(scrubber)],
    logger,
  });

  /** The failure as the worker sends it to the server, as JSON: what history would hold. */
  const recorded = (err: unknown) =>
    JSON.stringify(defaultFailureConverter.errorToFailure(err as Error, defaultPayloadConverter));

  test('a result is scrubbed', async () => {
    const result = await env.run(async () => ({
      ok: false,
      evidence: [{ value: `HTTP 401: invalid token ${secret}` }],
    }));
    expect(result).toEqual({ ok: false, evidence: [{ value: `HTTP 401: invalid token ${REDACTED}` }] });
  });

  test('a thrown ApplicationFailure keeps its type and retry decision, without the secret anywhere', async () => {
    const cause = new Error(`socket said ${secret}`);
    const err = await env
      .run(async () => {
        throw ApplicationFailure.create({
          message: `directory hr answered 401: {"error":"revoked ${secret}"}`,
          type: 'DirectoryRejected',
          nonRetryable: true,
          details: [{ reason: secret }],
          cause,
        });
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe('DirectoryRejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`directory hr answered 401: {"error":"revoked ${REDACTED}"}`);
    expect(failure.details).toEqual([{ reason: REDACTED }]);
    expect(failure.cause?.message).toBe(`socket said ${REDACTED}`);
    const json = recorded(err);
    expect(json).toContain('directory hr answered 401');
    expect(json).not.toContain(secret);
  });

  test('a plain error, its driver fields and a cause chain; an error whose message is a getter', async () => {
    const driver = Object.assign(new Error(`auth failed for ${secret}`), { detail: `role ${secret}`, code: '28P01' });
    const wrapped = new Error('connect failed', { cause: driver });
    const err = (await env.run(async () => Promise.reject(wrapped)).catch((e: unknown) => e)) as Error;
    expect((err.cause as Error).message).toBe(`auth failed for ${REDACTED}`);
    expect((err.cause as Error & { detail: string }).detail).toBe(`role ${REDACTED}`);
    expect(recorded(err)).not.toContain(secret);

    class GetterError extends Error {
      override get message() {
        return `timeout talking to ${secret}`;
      }
    }
    const odd = await env.run(async () => Promise.reject(new GetterError())).catch((e: unknown) => e);
    expect((odd as Error).message).toBe(`timeout talking to ${REDACTED}`);
    expect(recorded(odd)).not.toContain(secret);
  });

  test('a thrown string', async () => {
    await expect(env.run(async () => Promise.reject(`raw ${secret}`))).rejects.toBe(`raw ${REDACTED}`);
  });

  test("the SDK's log lines of those failures (it logs the error the interceptor let out)", () => {
    expect(logged.filter((l) => l.includes('Activity failed')).length).toBeGreaterThanOrEqual(4);
    expect(logged.join('\n')).not.toContain(secret);
  });
});

describe('the scrubbing logger', () => {
  test('message, fields and logged errors lose the secret', () => {
    const secret = testToken('log');
    const scrubber = new SecretScrubber();
    scrubber.add(secret);
    const lines: { level: LogLevel; message: string; meta?: LogMetadata }[] = [];
    const inner = new ScrubbingLogger(
      {
        log: (level: LogLevel, message: string, meta?: LogMetadata) => lines.push({ level, message, meta }),
        trace() {},
        debug() {},
        info() {},
        warn() {},
        error() {},
      },
      scrubber,
    );
    inner.warn(`Activity failed: ${secret}`, {
      error: new Error(`echo ${secret}`),
      target: { url: `http://u:${secret}@h/` },
    });
    const printed = JSON.stringify(lines, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : v));
    expect(printed).toContain('Activity failed');
    expect(printed).not.toContain(secret);
    expect(lines[0].level).toBe('WARN');
  });
});

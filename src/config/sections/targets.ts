import { z } from 'zod';
import { httpUrl, nonEmpty, nonNegativeInt, positiveInt, stringMap } from '../../domain/fields';
import { secretRef } from '../secrets';
import { tcpPort } from '../../domain/names';

/** The systems health checks and runbooks act on, each under a name that inputs refer to. */
export const httpTarget = z
  .object({
    url: httpUrl,
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    timeoutMs: positiveInt.default(10_000),
    headers: stringMap.optional(),
  })
  .strict();

export const postgresTarget = z
  .object({
    host: nonEmpty.default('127.0.0.1'),
    port: tcpPort.default(5432),
    database: nonEmpty,
    user: nonEmpty.default('postgres'),
    password: secretRef.optional(),
    connectTimeoutMs: positiveInt.default(10_000),
    role: z.enum(['primary', 'replica']).optional(),
  })
  .strict();

export const redisTarget = z
  .object({
    host: nonEmpty.default('127.0.0.1'),
    port: tcpPort.default(6379),
    /** An ACL user (Redis 6+); the `default` user when omitted. */
    username: nonEmpty.max(128).optional(),
    password: secretRef.optional(),
    db: nonNegativeInt.default(0),
    connectTimeoutMs: positiveInt.default(5_000),
  })
  .strict();

export const tcpHostTarget = z
  .object({ host: nonEmpty, port: tcpPort, timeoutMs: positiveInt.default(5_000) })
  .strict();

export type HttpTarget = z.infer<typeof httpTarget>;
export type PostgresTarget = z.infer<typeof postgresTarget>;
export type RedisTarget = z.infer<typeof redisTarget>;

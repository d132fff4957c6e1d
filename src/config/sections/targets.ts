import { z } from 'zod';
import { secretRef } from '../secrets';
import { tcpPort } from '../../domain/names';

/** The systems health checks and runbooks act on, each under a name that inputs refer to. */
export const httpTarget = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    timeoutMs: z.number().int().positive().default(10_000),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const postgresTarget = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: tcpPort.default(5432),
    database: z.string().min(1),
    user: z.string().min(1).default('postgres'),
    password: secretRef.optional(),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    role: z.enum(['primary', 'replica']).optional(),
  })
  .strict();

export const redisTarget = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: tcpPort.default(6379),
    /** An ACL user (Redis 6+); the `default` user when omitted. */
    username: z.string().min(1).max(128).optional(),
    password: secretRef.optional(),
    db: z.number().int().min(0).default(0),
    connectTimeoutMs: z.number().int().positive().default(5_000),
  })
  .strict();

export const tcpHostTarget = z
  .object({ host: z.string().min(1), port: tcpPort, timeoutMs: z.number().int().positive().default(5_000) })
  .strict();

export type HttpTarget = z.infer<typeof httpTarget>;
export type PostgresTarget = z.infer<typeof postgresTarget>;
export type RedisTarget = z.infer<typeof redisTarget>;

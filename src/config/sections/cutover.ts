import { z } from 'zod';
import { count, httpUrl, nonEmpty, nonNegativeInt, positiveInt, typed } from '../../domain/fields';
import { secretRef } from '../secrets';
import { targetName } from '../../domain/names';
import { filterField } from '../../domain/cutover/cohort';
import { postgresStoreConfig } from './postgres-store';
import { sqlIdentifier, sqlTable } from './sql-names';
import { nameChecks, type Issue } from '../references';

/**
 * Where a cutover lists a cohort's members (`"directory": "staff"` in an input). Each kind is one
 * member of the union and one file in src/activities/systems/directory.
 */
const postgresDirectory = typed('postgres', {
  /** The config.postgres database holding the users table. */
  postgres: targetName,
  table: sqlTable,
  idColumn: sqlIdentifier.default('id'),
  /** Filter fields as inputs name them → the column holding each. */
  columns: z.record(filterField, sqlIdentifier).default({ department: 'department', role: 'role' }),
  pageSize: z.number().int().min(100).max(1_000_000).default(50_000),
});

/** The runbook's user API: `POST {url}/users/filter` with the filter as JSON, paged, bearer token. */
const httpDirectory = typed('http', {
  url: httpUrl,
  token: secretRef,
  /** The fields the API filters on. */
  fields: z.array(filterField).min(1).default(['department', 'role']),
  pageSize: count.max(100_000).default(10_000),
  timeoutMs: positiveInt.default(30_000),
});

export const directoryConfig = z.discriminatedUnion('type', [postgresDirectory, httpDirectory]);
export type DirectoryConfig = z.infer<typeof directoryConfig>;
export type PostgresDirectoryConfig = z.infer<typeof postgresDirectory>;
export type HttpDirectoryConfig = z.infer<typeof httpDirectory>;

/** The two systems a user can be routed to, as the router and its gateway name them. */
const systems = z
  .object({
    old: nonEmpty.max(100).default('old_system'),
    new: nonEmpty.max(100).default('new_system'),
  })
  .strict()
  .refine((s) => s.old !== s.new, { message: 'old and new must be different systems', path: ['new'] })
  .default({ old: 'old_system', new: 'new_system' });

/**
 * Per-service routing data in Redis that a gateway reads: a hash user id → system. `$service` in
 * the key is the cutover's service.
 */
const redisRouter = typed('redis', {
  redis: targetName,
  key: nonEmpty.max(200).default('opsflow:routes:$service'),
  systems,
  /** Users per pipelined write (one HSET per chunk). */
  chunkSize: z.number().int().min(100).max(100_000).default(10_000),
  /** Users read back one by one after a move, besides the count. */
  readBackSample: nonNegativeInt.max(100_000).default(1_000),
});

/** The runbook's routing API: `PUT {url}/routing/user/{id}` with `{"target_system": …}`, bearer token. */
const httpRouter = typed('http', {
  url: httpUrl,
  token: secretRef,
  systems,
  concurrency: count.max(256).default(32),
  /** Retries of one user's PUT on 429, 5xx or a network error, with backoff. */
  retries: nonNegativeInt.max(20).default(5),
  timeoutMs: positiveInt.default(10_000),
  /** `GET {url}/routing/user/{id}` answers `{"target_system": …}`: read back after a move. */
  readBack: z.boolean().default(true),
});

export const routerConfig = z.discriminatedUnion('type', [redisRouter, httpRouter]);
export type RouterConfig = z.infer<typeof routerConfig>;
export type RedisRouterConfig = z.infer<typeof redisRouter>;
export type HttpRouterConfig = z.infer<typeof httpRouter>;

/** User cutover (runbooks §3): where snapshots and prior routes are kept (never in history). */
export const cutoverConfig = z
  .object({
    store: postgresStoreConfig.optional(),
  })
  .strict();
export type CutoverConfig = z.infer<typeof cutoverConfig>;

/** Every name a directory, router or cutover store uses must exist in the config. */
export function checkCutoverReferences(
  cfg: { directories: Record<string, DirectoryConfig>; routers: Record<string, RouterConfig>; cutover: CutoverConfig },
  known: { postgres: Record<string, unknown>; redis: Record<string, unknown> },
  issue: Issue,
): void {
  const { one } = nameChecks(issue);
  for (const [name, d] of Object.entries(cfg.directories))
    if (d.type === 'postgres') one(['directories', name, 'postgres'], d.postgres, known.postgres, 'postgres target');
  for (const [name, r] of Object.entries(cfg.routers))
    if (r.type === 'redis') one(['routers', name, 'redis'], r.redis, known.redis, 'redis target');
  one(['cutover', 'store', 'postgres'], cfg.cutover.store?.postgres, known.postgres, 'postgres target');
}

/** The fields a directory lets cohorts filter on, whatever its kind. */
export const directoryFields = (d: DirectoryConfig): string[] =>
  d.type === 'postgres' ? Object.keys(d.columns) : d.fields;

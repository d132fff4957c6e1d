import { z } from 'zod';
import { targetName } from '../../domain/names';
import { sqlIdentifier } from './sql-names';

/**
 * Where a capability keeps its tables: a config.postgres database and the schema inside it. One
 * definition, so every store (incidents, baselines) is configured and validated the same way.
 */
export const postgresStoreConfig = z
  .object({
    postgres: targetName,
    schema: sqlIdentifier.default('opsflow'),
  })
  .strict();
export type PostgresStoreConfig = z.infer<typeof postgresStoreConfig>;

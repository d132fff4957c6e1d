import { z } from 'zod';

/**
 * SQL names a worker config may give (table, column): quoted when used, and restricted to plain
 * lower-case identifiers so that a name can never carry SQL. Never taken from a workflow input.
 */
export const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier');
export const sqlTable = z
  .string()
  .regex(/^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/, 'a lower-case table name, optionally schema.table');

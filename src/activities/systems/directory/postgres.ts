import { Client } from 'pg';
import type { PostgresDirectoryConfig } from '../../../config/sections/cutover';
import type { OpsflowConfig } from '../../../config/schema';
import type { Cohort } from '../../../domain/cutover/cohort';
import { configTarget } from '../../config-target';
import { clientConfig, connectNamed } from '../postgres/connect';
import { quoteIdent, quoteTable } from '../postgres/identifiers';
import type { Directory } from './directory';

/**
 * A users table, keyset-paged on the id column: each page is one indexed range scan, never an OFFSET that rereads what came before.
 * Column and table names come from the config (validated identifiers); values are parameters.
 */
export function postgresDirectory(config: OpsflowConfig, name: string, d: PostgresDirectoryConfig): Directory {
  const target = configTarget(config.postgres, 'postgres', d.postgres, `config.directories.${name}.postgres`);
  const settings = clientConfig(d.postgres, target, `config.directories.${name}.postgres`);
  const client = new Client(settings);
  client.on('error', () => undefined);
  let connected: Promise<unknown> | undefined;
  const id = quoteIdent(d.idColumn);
  const page = (cohort: Cohort, after: string | null, firstParam: number) => {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => {
      values.push(v);
      return `$${firstParam + values.length - 1}`;
    };
    if (cohort !== 'rest')
      for (const [field, v] of Object.entries(cohort)) {
        const column = d.columns[field];
        if (!column)
          throw new Error(
            `directory ${name} has no column for field "${field}" (known: ${Object.keys(d.columns).join(', ')})`,
          );
        where.push(`${quoteIdent(column)}::text = ANY(${param(v)}::text[])`);
      }
    // The id keeps its own type in the comparison and the order, so the primary key's index serves
    // both; the text output has another name, or ORDER BY would sort by it ("10" < "9"). The id as
    // it is (`opsflow_key`) tells the page's last row: numbering the rows with a window function
    // instead was 0.3 s of a million users' 0.7 s snapshot.
    if (after !== null) where.push(`${id} > ${param(after)}`);
    const text =
      `SELECT ${id}::text AS opsflow_user_id, ${id} AS opsflow_key FROM ${quoteTable(d.table)}` +
      `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${id} LIMIT ${param(d.pageSize)}`;
    return { text, values };
  };
  return {
    sql: {
      postgres: d.postgres,
      pageSize: d.pageSize,
      page,
      // A unique index on the id column alone (not partial, not on an expression).
      idsUnique: () => ({
        text: `SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
                 AND i.indnkeyatts = 1 AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2)) AS unique`,
        values: [quoteTable(d.table), d.idColumn],
      }),
    },
    async *pages(cohort: Cohort) {
      connected ??= connectNamed(client, settings);
      await connected;
      let after: string | null = null;
      for (;;) {
        const q = page(cohort, after, 1);
        const r: { rows: unknown[][] } = await client.query({ text: q.text, values: q.values, rowMode: 'array' });
        const ids: string[] = r.rows.map((row: unknown[]) => row[0] as string);
        if (ids.length > 0) yield ids;
        if (ids.length < d.pageSize) return;
        after = ids[ids.length - 1];
      }
    },
    async close() {
      if (connected) await client.end().catch(() => undefined);
    },
  };
}

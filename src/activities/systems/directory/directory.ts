import type { Cohort } from '../../../domain/cutover/cohort';

/**
 * Where a cohort's members are listed. `pages` yields user ids in a stable order, one page at a
 * time, so a million members never sit in memory at once. Each kind is one file beside this one.
 */
export interface Directory {
  pages(cohort: Cohort): AsyncIterable<string[]>;
  /** Set when the directory is a table in PostgreSQL: a store in the same database takes its pages server-side. */
  sql?: SqlPages;
  close(): Promise<void>;
}

/** A directory's pages as SQL on its own database, so the ids never leave the server. */
export interface SqlPages {
  /** The config.postgres entry the table lives in. */
  postgres: string;
  /** Ids per page: a shorter page is the last. */
  pageSize: number;
  /**
   * The page after the id `after` (as text; null: the first page), ordered: a SELECT of
   * `opsflow_user_id` (text) and `opsflow_key` (the id in its own type, which orders the page: the
   * page's last row is the greatest). Its parameters are numbered from `$firstParam`, so the
   * caller's own come first.
   */
  page(cohort: Cohort, after: string | null, firstParam: number): { text: string; values: unknown[] };
  /** A query answering one row `{ unique: boolean }`: does a unique index make every listed id distinct? */
  idsUnique(): { text: string; values: unknown[] };
}

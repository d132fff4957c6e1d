import { request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';
import type { HttpDirectoryConfig } from '../../../config/sections/cutover';
import { resolveSecret } from '../../../config/secrets';
import type { Cohort } from '../../../domain/cutover/cohort';
import { bodyExcerpt } from '../notify/http-send';
import type { Directory } from './directory';

/**
 * The runbook's user API: `POST {url}/users/filter` with `{"filter": {...}, "limit", "cursor"}` and
 * a bearer token; it answers `{"users": [{"id"}...] | ["id"...], "next_cursor": string|null}`.
 * `"rest"` sends an empty filter (everyone); the store drops who earlier batches moved.
 */
export function httpDirectory(name: string, d: HttpDirectoryConfig): Directory {
  const token = resolveSecret(d.token, `directories.${name}.token`);
  const url = `${d.url.replace(/\/+$/, '')}/users/filter`;
  return {
    async *pages(cohort: Cohort) {
      let cursor: string | null = null;
      for (let page = 0; page < 1_000_000; page++) {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ filter: cohort === 'rest' ? {} : cohort, limit: d.pageSize, cursor }),
          headersTimeout: d.timeoutMs,
          bodyTimeout: d.timeoutMs,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          const message = `directory ${name} answered HTTP ${res.statusCode} to POST /users/filter: ${bodyExcerpt(text)}`;
          // A refused token or filter is the config's or the input's fault; a busy API is not.
          if (res.statusCode === 429 || res.statusCode >= 500)
            throw ApplicationFailure.create({ message, type: 'DirectoryUnavailable' });
          throw ApplicationFailure.create({ message, type: 'DirectoryRejected', nonRetryable: true });
        }
        const body = JSON.parse(text) as { users?: unknown[]; next_cursor?: string | null };
        if (!Array.isArray(body.users))
          throw ApplicationFailure.create({
            message: `directory ${name}: the answer has no "users" list`,
            type: 'DirectoryRejected',
            nonRetryable: true,
          });
        const ids = body.users.map((u) => String(typeof u === 'object' && u !== null ? (u as { id: unknown }).id : u));
        if (ids.length > 0) yield ids;
        cursor = body.next_cursor ?? null;
        if (cursor === null) return;
      }
      throw new Error(`directory ${name}: more than a million pages`);
    },
    async close() {},
  };
}

import { Agent, request } from 'undici';
import type { HttpRouterConfig } from '../../../config/sections/cutover';
import { resolveSecret } from '../../../config/secrets';
import { bodyExcerpt } from '../notify/http-send';
import { readBackResult, type Router } from './router';

export class RoutingApiError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Runs `fn` over `items` with at most `limit` in flight, results in order. After one call fails no
 * new call starts: a refused token must not be sent a thousand more times.
 */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The runbook's routing API: `PUT {url}/routing/user/{id}` with `{"target_system": …}`, one user per
 * request, at most `concurrency` in flight; 429, 5xx and network errors retried with backoff (the
 * API's Retry-After when it gives one), other 4xx refused at once. Read-back is `GET` of the same
 * path where the API has it. The API cannot delete a route, so a user with no prior route is
 * restored to the old system.
 */
export function httpRouter(name: string, d: HttpRouterConfig): Router {
  const token = resolveSecret(d.token, `routers.${name}.token`);
  const base = d.url.replace(/\/+$/, '');
  const dispatcher = new Agent({ connections: d.concurrency, keepAliveTimeout: 10_000 });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  async function call(method: 'GET' | 'PUT', id: string, body?: string): Promise<{ status: number; text: string }> {
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await request(`${base}/routing/user/${encodeURIComponent(id)}`, {
          method,
          headers,
          body,
          dispatcher,
          headersTimeout: d.timeoutMs,
          bodyTimeout: d.timeoutMs,
        });
        status = res.statusCode;
        text = await res.body.text();
        const ra = Number(res.headers['retry-after']);
        if (Number.isFinite(ra) && ra >= 0) retryAfterMs = Math.min(ra * 1000, 30_000);
      } catch (err) {
        text = (err as Error).message;
      }
      if (status >= 200 && status < 300) return { status, text };
      if (method === 'GET' && status === 404) return { status, text };
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= d.retries)
        throw new RoutingApiError(
          `router ${name}: ${method} /routing/user/${id} ${status ? `answered HTTP ${status}` : 'failed'}: ${bodyExcerpt(text)}`,
          retryable,
        );
      await sleep(retryAfterMs ?? Math.min(50 * 2 ** attempt, 2_000));
    }
  }
  const get = async (id: string): Promise<string | null> => {
    const r = await call('GET', id);
    if (r.status === 404) return null;
    return (JSON.parse(r.text) as { target_system?: string }).target_system ?? null;
  };
  /** PUTs the route, then GETs it back (what the API holds, not what it answered) where the API can. */
  const put = async (id: string, system: string): Promise<string | null> => {
    await call('PUT', id, JSON.stringify({ target_system: system }));
    return d.readBack ? get(id) : system;
  };
  return {
    systems: d.systems,
    readable: d.readBack,
    read: (ids) => (d.readBack ? mapBounded(ids, d.concurrency, get) : Promise.resolve(ids.map(() => null))),
    async write(ids, system) {
      return readBackResult(ids, await mapBounded(ids, d.concurrency, (id) => put(id, system)), () => system);
    },
    async restore(ids, priors) {
      const want = (i: number) => priors[i] ?? d.systems.old;
      return readBackResult(ids, await mapBounded(ids, d.concurrency, (id, i) => put(id, want(i))), want);
    },
    async close() {
      await dispatcher.close();
    },
  };
}

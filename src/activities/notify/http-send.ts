import { request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';

const defaultOk = [200, 201, 202, 204];

/**
 * POSTs a body and decides what a failure means for every HTTP notifier: 429 and 5xx and network
 * errors are retried by Temporal; any other 4xx is the config's fault (bad URL, number or token)
 * and no retry can fix it.
 */
export async function post(
  what: string,
  url: string,
  body: string,
  o: { headers: Record<string, string>; timeoutMs: number; okStatuses?: number[]; /** e.g. "for +155…" */ about?: string },
): Promise<{ status: number; body: string }> {
  const { headers, timeoutMs, okStatuses = defaultOk } = o;
  const res = await request(url, {
    method: 'POST',
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  if (okStatuses.includes(res.statusCode)) return { status: res.statusCode, body: text };
  const message = `${what} answered HTTP ${res.statusCode}${o.about ? ` ${o.about}` : ''}: ${text.slice(0, 200)}`;
  if (res.statusCode === 429 || res.statusCode >= 500) throw ApplicationFailure.retryable(message, 'NotifierUnavailable');
  throw ApplicationFailure.nonRetryable(message, 'NotifierRejected');
}

export function postJson(
  what: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
  okStatuses: number[] = defaultOk,
): Promise<{ status: number; body: string }> {
  return post(what, url, JSON.stringify(body), { headers: { 'content-type': 'application/json', ...headers }, timeoutMs, okStatuses });
}

import { request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';

/**
 * POSTs JSON and decides what a failure means: 429 and 5xx and network errors are retried by
 * Temporal; any other 4xx is the config's fault (bad URL or token) and no retry can fix it.
 */
export async function postJson(
  what: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
  okStatuses: number[] = [200, 201, 202, 204],
): Promise<{ status: number; body: string }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  if (okStatuses.includes(res.statusCode)) return { status: res.statusCode, body: text };
  const message = `${what} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
  if (res.statusCode === 429 || res.statusCode >= 500) throw ApplicationFailure.retryable(message, 'NotifierUnavailable');
  throw ApplicationFailure.nonRetryable(message, 'NotifierRejected');
}

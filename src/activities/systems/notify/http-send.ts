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
  o: {
    headers: Record<string, string>;
    timeoutMs: number;
    okStatuses?: number[];
    /** e.g. "for +155…" */ about?: string;
  },
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
  // The status and the receiver's own reason travel with the failure (message and details), so the
  // workflow can record why a message was not delivered, not only that it was not.
  const reason = bodyExcerpt(text);
  const message = `${what} answered HTTP ${res.statusCode}${o.about ? ` ${o.about}` : ''}: ${reason}`;
  const details = { status: res.statusCode, reason };
  if (res.statusCode === 429 || res.statusCode >= 500)
    throw ApplicationFailure.create({ message, type: 'NotifierUnavailable', details: [details] });
  throw ApplicationFailure.create({ message, type: 'NotifierRejected', nonRetryable: true, details: [details] });
}

/** At most this much of a receiver's answer goes into a failure (and so into workflow history). */
const MAX_REASON_CHARS = 300;

/** A receiver's answer as one bounded line: whitespace collapsed, cut with a visible marker. */
export function bodyExcerpt(text: string, max = MAX_REASON_CHARS): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (!line) return '(empty body)';
  return line.length > max ? `${line.slice(0, max)}… (${line.length - max} more characters)` : line;
}

export function postJson(
  what: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
  okStatuses: number[] = defaultOk,
): Promise<{ status: number; body: string }> {
  return post(what, url, JSON.stringify(body), {
    headers: { 'content-type': 'application/json', ...headers },
    timeoutMs,
    okStatuses,
  });
}

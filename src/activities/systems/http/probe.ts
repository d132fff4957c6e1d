import { request } from 'undici';
import type { HttpTarget } from '../../../config/sections/targets';
import { openTarget, type TargetRef } from '../../config-target';

export interface ProbeResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

/**
 * One request with a deadline; the body is drained so the connection can be reused. `ref` names
 * the config entry (and field) in the error when the target cannot be reached.
 */
export async function probe(target: HttpTarget, ref?: TargetRef): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const res = await openTarget(ref, () =>
      request(target.url, {
        method: target.method,
        headers: target.headers,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
        signal: AbortSignal.timeout(target.timeoutMs),
      }),
    );
    await res.body.dump();
    const latencyMs = Math.round(performance.now() - started);
    return { ok: res.statusCode === target.expectStatus, status: res.statusCode, latencyMs };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

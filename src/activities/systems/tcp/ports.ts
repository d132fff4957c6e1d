import type { Evidence } from '../../../domain/readiness/evidence';
import { reach } from './reach';

/** Ports that must accept connections do; ports the firewall must keep closed refuse or stay silent. */
export async function checkPorts(
  host: string,
  open: number[],
  closed: number[],
  timeoutMs: number,
  now = new Date(),
): Promise<Evidence[]> {
  const probe = async (port: number, want: 'open' | 'closed'): Promise<Evidence> => {
    const r = await reach(host, port, timeoutMs);
    const seen = r.ok ? `open (${r.latencyMs} ms)` : `closed (${r.error})`;
    return {
      what: `port ${port}`,
      value: seen,
      threshold: want,
      target: `${host}:${port}`,
      at: now.toISOString(),
      ok: r.ok === (want === 'open'),
    };
  };
  return Promise.all([...open.map((p) => probe(p, 'open')), ...closed.map((p) => probe(p, 'closed'))]);
}

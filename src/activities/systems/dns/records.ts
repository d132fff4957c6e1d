import { promises as dns } from 'node:dns';
import { isIPv6 } from 'node:net';
import type { Evidence } from '../../../domain/readiness/evidence';

export interface DnsCheck {
  name: string;
  expect: string[];
  /** `host` or `host:port`; the system's resolvers when omitted. */
  resolvers?: string[];
  timeoutMs: number;
}

/**
 * The name's A (and AAAA, when an IPv6 address is expected) records from the configured resolver,
 * compared as sets with the expected addresses: a missing or an extra address both fail.
 */
export async function checkDnsRecords(c: DnsCheck, now = new Date()): Promise<Evidence[]> {
  const resolver = new dns.Resolver({ timeout: c.timeoutMs, tries: 2 });
  if (c.resolvers) resolver.setServers(c.resolvers);
  const lookups: Promise<string[]>[] = [resolver.resolve4(c.name).catch(noRecords)];
  if (c.expect.some((a) => isIPv6(a))) lookups.push(resolver.resolve6(c.name).catch(noRecords));
  const found = [...new Set((await Promise.all(lookups)).flat())].sort();
  const expected = [...new Set(c.expect)].sort();
  const missing = expected.filter((a) => !found.includes(a));
  const extra = found.filter((a) => !expected.includes(a));
  const via = c.resolvers?.join(', ') ?? resolver.getServers().join(', ');
  return [
    {
      what: `addresses of ${c.name}`,
      value:
        (found.join(', ') || 'no records') +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (extra.length ? `; unexpected ${extra.join(', ')}` : ''),
      threshold: expected.join(', '),
      target: `resolver ${via}`,
      at: now.toISOString(),
      ok: missing.length === 0 && extra.length === 0,
    },
  ];
}

/** "No such name" is an answer (no addresses); a resolver that does not answer is an error. */
function noRecords(err: NodeJS.ErrnoException): string[] {
  if (err.code === dns.NOTFOUND || err.code === dns.NODATA) return [];
  throw new Error(`DNS lookup failed: ${err.code ?? err.message}`);
}

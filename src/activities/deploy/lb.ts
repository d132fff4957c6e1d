import type { HaproxyLoadBalancerConfig } from '../../config/sections/load-balancers';
import { runtimeApiCommand } from '../systems/load-balancer/haproxy-runtime-api';

/** The sessions HAProxy has open to one server now (`scur` of `show stat`): what a drain waits on. */
export async function serverSessions(cfg: HaproxyLoadBalancerConfig, server: string): Promise<number> {
  const out = await runtimeApiCommand(cfg.runtimeApi, `show stat ${cfg.backend} 4 -1`, cfg.timeoutMs);
  const lines = out.split('\n').filter((l) => l.trim());
  const header =
    lines
      .find((l) => l.startsWith('# '))
      ?.slice(2)
      .split(',') ?? [];
  const [px, sv, scur] = ['pxname', 'svname', 'scur'].map((c) => header.indexOf(c));
  if (px < 0 || sv < 0 || scur < 0) throw new Error(`HAProxy: unexpected "show stat" answer: ${out.slice(0, 200)}`);
  const row = lines.map((l) => l.split(',')).find((f) => f[px] === cfg.backend && f[sv] === server);
  if (!row) throw new Error(`HAProxy backend "${cfg.backend}" has no server "${server}"`);
  return Number(row[scur]);
}

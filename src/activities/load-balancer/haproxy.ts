import type { HaproxyLoadBalancerConfig } from '../../config/sections/load-balancers';
import { percentOf, unknownServer, type LoadBalancerAdapter, type ServerState, type SplitReading, type SplitRequest } from './adapter';
import { runtimeApiCommand } from './haproxy-runtime-api';

// srv_admin_state flags (HAProxy's server.h): any maintenance bit, any drain bit.
const ADMF_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const ADMF_DRAIN = 0x08 | 0x10;

/**
 * HAProxy through its Runtime API. Weights are absolute (0–256): the new server gets the percent,
 * the old one the rest, so the split is exactly the weights' ratio. Setting a weight or a state is
 * idempotent by nature (the same command twice leaves the same state), and every change is read back.
 */
export function haproxyAdapter(name: string, cfg: HaproxyLoadBalancerConfig): LoadBalancerAdapter {
  const run = async (command: string): Promise<string> => {
    const out = (await runtimeApiCommand(cfg.runtimeApi, command, cfg.timeoutMs)).trim();
    if (/^No such backend/i.test(out)) throw unknownServer(name, `HAProxy backend "${cfg.backend}"`);
    return out;
  };
  const server = (s: string) => `${cfg.backend}/${s}`;
  const noSuchServer = (out: string, s: string) => {
    if (/^No such server/i.test(out)) throw unknownServer(name, `server "${s}" in HAProxy backend "${cfg.backend}"`);
  };

  async function getWeight(s: string): Promise<number> {
    const out = await run(`get weight ${server(s)}`);
    noSuchServer(out, s);
    const m = /^(\d+)/.exec(out);
    if (!m) throw new Error(`HAProxy ${name}: unexpected answer to "get weight ${server(s)}": ${out}`);
    return Number(m[1]);
  }

  async function setWeight(s: string, weight: number): Promise<void> {
    const out = await run(`set server ${server(s)} weight ${weight}`);
    noSuchServer(out, s);
    if (out !== '') throw new Error(`HAProxy ${name}: "set server ${server(s)} weight ${weight}" answered: ${out}`);
  }

  return {
    kind: 'haproxy',
    supportsCohorts: false,
    async checkServers(servers) {
      for (const s of servers) await getWeight(s);
    },
    async setSplit(req: SplitRequest) {
      // New first on the way up, old first on the way down: in between, the sum never drops to 0.
      const order: [string, number][] = [
        [req.new, req.newPercent],
        [req.old, 100 - req.newPercent],
      ];
      const current = await getWeight(req.new);
      if (req.newPercent < current) order.reverse();
      for (const [s, w] of order) await setWeight(s, w);
    },
    async readSplit(old, next): Promise<SplitReading> {
      const [o, n] = [await getWeight(old), await getWeight(next)];
      return { newPercent: percentOf(o, n), weights: { [old]: o, [next]: n } };
    },
    async setServerState(s, state: ServerState) {
      const out = await run(`set server ${server(s)} state ${state}`);
      noSuchServer(out, s);
      if (out !== '') throw new Error(`HAProxy ${name}: "set server ${server(s)} state ${state}" answered: ${out}`);
    },
    async readServerState(s): Promise<ServerState> {
      const out = await run(`show servers state ${cfg.backend}`);
      const header = out.split('\n').find((l) => l.startsWith('# '));
      const cols = header?.slice(2).split(' ') ?? [];
      const nameCol = cols.indexOf('srv_name');
      const adminCol = cols.indexOf('srv_admin_state');
      const row = out
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.split(' '))
        .find((f) => f[nameCol] === s);
      if (nameCol < 0 || adminCol < 0) throw new Error(`HAProxy ${name}: unexpected "show servers state" answer: ${out.slice(0, 200)}`);
      if (!row) throw unknownServer(name, `server "${s}" in HAProxy backend "${cfg.backend}"`);
      const admin = Number(row[adminCol]);
      return admin & ADMF_MAINT ? 'maint' : admin & ADMF_DRAIN ? 'drain' : 'ready';
    },
  };
}

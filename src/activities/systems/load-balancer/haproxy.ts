import type { HaproxyLoadBalancerConfig } from '../../../config/sections/load-balancers';
import {
  splitReading,
  unknownServer,
  wantedWeights,
  type LoadBalancerAdapter,
  type ServerState,
  type SplitReading,
  type SplitRequest,
} from './adapter';
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
    // `get weight` says "No such backend", `show servers state` "Can't find backend".
    if (/^(No such backend|Can't find backend)/i.test(out))
      throw unknownServer(name, `HAProxy backend "${cfg.backend}"`);
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

  async function setServer(s: string, what: string): Promise<void> {
    const out = await run(`set server ${server(s)} ${what}`);
    noSuchServer(out, s);
    if (out !== '') throw new Error(`HAProxy ${name}: "set server ${server(s)} ${what}" answered: ${out}`);
  }

  /** Weight and admin state of the named servers, in one `show servers state` (one consistent view). */
  async function serversState(
    names: string[],
  ): Promise<{ weights: Record<string, number>; states: Record<string, ServerState> }> {
    const out = await run(`show servers state ${cfg.backend}`);
    const header = out.split('\n').find((l) => l.startsWith('# '));
    const cols = header?.slice(2).split(' ') ?? [];
    const [nameCol, adminCol, weightCol] = ['srv_name', 'srv_admin_state', 'srv_uweight'].map((c) => cols.indexOf(c));
    if (nameCol < 0 || adminCol < 0 || weightCol < 0)
      throw new Error(`HAProxy ${name}: unexpected "show servers state" answer: ${out.slice(0, 200)}`);
    const rows = out
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split(' '));
    const weights: Record<string, number> = {};
    const states: Record<string, ServerState> = {};
    for (const s of names) {
      const row = rows.find((f) => f[nameCol] === s);
      if (!row) throw unknownServer(name, `server "${s}" in HAProxy backend "${cfg.backend}"`);
      const admin = Number(row[adminCol]);
      weights[s] = Number(row[weightCol]);
      states[s] = admin & ADMF_MAINT ? 'maint' : admin & ADMF_DRAIN ? 'drain' : 'ready';
    }
    return { weights, states };
  }

  return {
    kind: 'haproxy',
    supportsCohorts: false,
    async checkServers(servers) {
      for (const s of servers) await getWeight(s);
    },
    async setSplit(req: SplitRequest) {
      // New first on the way up, old first on the way down: in between, the sum never drops to 0.
      const want = wantedWeights(req);
      const order = [req.new, req.old];
      const current = await getWeight(req.new);
      if (req.newPercent < current) order.reverse();
      for (const s of order) {
        // A weight on a drained or maintained server moves nothing: one that is to take traffic is made ready.
        if (want[s] > 0) await setServer(s, 'state ready');
        await setServer(s, `weight ${want[s]}`);
      }
    },
    async readSplit(old, next): Promise<SplitReading> {
      const { weights, states } = await serversState([old, next]);
      return splitReading(name, old, next, weights, states);
    },
    async setServerState(s, state: ServerState) {
      await setServer(s, `state ${state}`);
    },
    async readServerState(s): Promise<ServerState> {
      return (await serversState([s])).states[s];
    },
  };
}

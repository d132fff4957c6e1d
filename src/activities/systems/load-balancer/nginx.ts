import { execFile } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { NginxLoadBalancerConfig } from '../../../config/sections/load-balancers';
import { splitReading, unknownServer, type LoadBalancerAdapter, type ServerState, type SplitReading } from './adapter';

interface Member {
  weight: number;
  down: boolean;
}

const HEADER = '# managed by opsflow (phasedRolloutWorkflow): rewritten on every step; edits are overwritten\n';

/** The upstream include as opsflow writes it: one `server` line per configured server. */
export function renderUpstream(cfg: NginxLoadBalancerConfig, members: Record<string, Member>): string {
  const lines = Object.entries(cfg.servers).map(([name, addr]) => {
    const m = members[name] ?? { weight: 1, down: false };
    // nginx has no weight 0: a server that must get nothing is `down`, with weight 1 kept for later.
    return `server ${addr} weight=${Math.max(1, m.weight)}${m.down || m.weight === 0 ? ' down' : ''}; # ${name}`;
  });
  return HEADER + lines.join('\n') + '\n';
}

/** Reads the include back; servers it does not mention are up with weight 1 (nginx's default). */
export function parseUpstream(cfg: NginxLoadBalancerConfig, text: string): Record<string, Member> {
  const byAddr = new Map(Object.entries(cfg.servers).map(([n, a]) => [a, n]));
  const out: Record<string, Member> = Object.fromEntries(
    Object.keys(cfg.servers).map((n) => [n, { weight: 1, down: false }]),
  );
  for (const line of text.split('\n')) {
    const m = /^\s*server\s+(\S+?)(\s[^;#]*)?;/.exec(line);
    if (!m) continue;
    const name = byAddr.get(m[1]);
    if (!name) continue;
    const opts = m[2] ?? '';
    const weight = /weight=(\d+)/.exec(opts);
    out[name] = { weight: weight ? Number(weight[1]) : 1, down: /\bdown\b/.test(opts) };
  }
  return out;
}

/**
 * nginx (open source) through an upstream include. A change writes a temp file and renames it over
 * the include (atomic: nginx never reads half a file), runs `nginx -t`, restores the previous file
 * if the test fails, then reloads. Idempotent: the file is a function of the wanted split, and a
 * reload of an unchanged config changes nothing. nginx OSS has no drain: drain and maint are `down`.
 */
export function nginxAdapter(name: string, cfg: NginxLoadBalancerConfig): LoadBalancerAdapter {
  const args = [
    ...(cfg.prefix ? ['-p', cfg.prefix] : []),
    ...(cfg.configFile ? ['-c', cfg.configFile] : []),
    ...(cfg.errorLog ? ['-e', cfg.errorLog] : []),
  ];
  const nginx = (extra: string[]) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      const [cmd, cmdArgs] = cfg.sudo
        ? ['sudo', ['-n', cfg.binary, ...args, ...extra]]
        : [cfg.binary, [...args, ...extra]];
      execFile(cmd, cmdArgs, { timeout: cfg.timeoutMs }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}`.trim() }),
      );
    });

  const known = (s: string) => {
    if (!(s in cfg.servers)) throw unknownServer(name, `server "${s}" (not in loadBalancers.${name}.servers)`);
  };
  const readMembers = async () => {
    let text = '';
    try {
      text = await readFile(cfg.upstreamFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { text, members: parseUpstream(cfg, text) };
  };

  async function apply(change: (m: Record<string, Member>) => void): Promise<void> {
    const { text: previous, members } = await readMembers();
    change(members);
    const next = renderUpstream(cfg, members);
    await atomicWrite(cfg.upstreamFile, next);
    const test = await nginx(['-t']);
    if (test.code !== 0) {
      await atomicWrite(cfg.upstreamFile, previous);
      throw ApplicationFailure.nonRetryable(
        `nginx ${name}: "nginx -t" rejected the new upstream, previous file restored: ${test.output}`,
        'NginxConfigRejected',
      );
    }
    const reload = await nginx(['-s', 'reload']);
    if (reload.code !== 0) throw new Error(`nginx ${name}: reload failed: ${reload.output}`);
  }

  return {
    kind: 'nginx',
    supportsCohorts: false,
    async checkServers(servers) {
      servers.forEach(known);
      // What nginx knows is its config: the include must be readable and the config must pass
      // `nginx -t` now (binary, sudo, paths), or the first step would be the one to find out.
      await readMembers();
      const test = await nginx(['-t']);
      if (test.code !== 0)
        throw ApplicationFailure.nonRetryable(
          `nginx ${name}: "nginx -t" fails before any change, so no step could be applied: ${test.output}`,
          'NginxConfigRejected',
        );
    },
    async setSplit(req) {
      known(req.old);
      known(req.new);
      await apply((m) => {
        m[req.new] = { weight: req.newPercent, down: req.newPercent === 0 };
        m[req.old] = { weight: 100 - req.newPercent, down: req.newPercent === 100 };
      });
    },
    async readSplit(old, next): Promise<SplitReading> {
      known(old);
      known(next);
      const { members } = await readMembers();
      const w = (s: string) => (members[s].down ? 0 : members[s].weight);
      const state = (s: string): ServerState => (members[s].down ? 'drain' : 'ready');
      return splitReading(
        name,
        old,
        next,
        { [old]: w(old), [next]: w(next) },
        { [old]: state(old), [next]: state(next) },
      );
    },
    async setServerState(s, state: ServerState) {
      known(s);
      await apply((m) => {
        m[s] = { ...m[s], down: state !== 'ready' };
      });
    },
    async readServerState(s): Promise<ServerState> {
      known(s);
      const { members } = await readMembers();
      return members[s].down ? 'drain' : 'ready';
    },
  };
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.opsflow-${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { DeployCommand } from '../../config/sections/deploy';
import type { HaproxyLoadBalancerConfig } from '../../config/sections/load-balancers';
import { httpTarget } from '../../config/sections/targets';
import { releasesToPrune, rollbackTarget } from '../../domain/deploy/release';
import { healthPolicyProblem, judgeHealth, type HealthPolicy, type HealthProbe } from '../../domain/deploy/health';
import { whileHeartbeating } from '../heartbeat';
import { probe } from '../systems/http/probe';
import { haproxyAdapter } from '../systems/load-balancer/haproxy';
import { systemdActivities } from '../systems/systemd';
import { freshMirror, GitError, resolveCommit } from '../systems/git/mirror';
import { deployTarget, type DeployTarget } from './host';
import { buildRelease, markRelease, readReleases, removeReleases, switchCurrent, type HostReleases } from './releases';
import { serverSessions } from './lb';

export interface HostHealth {
  healthy: boolean;
  /** Requests sent. */
  attempts: number;
  /** What the last one got: "HTTP 503", an error. */
  last: string;
  /** How many of them passed (2xx). */
  passes: number;
  /** A pass followed by a failure: the release is unstable (the fleet stops whatever the budget). */
  flapping?: boolean;
  /** Why it is not healthy, in words, for the host's failure. */
  reason?: string;
}

export interface HostStep {
  service: string;
  host: string;
}

/** The health policy, refused when its attempts can never give the service's passes. */
function requireHealthPolicy(service: string, policy: HealthPolicy): HealthPolicy {
  const problem = healthPolicyProblem(policy);
  if (problem)
    throw ApplicationFailure.nonRetryable(
      `healthCheck.attempts: ${problem} (deploy.services.${service}.healthPasses)`,
      'InvalidHealthCheck',
    );
  return policy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The steps of a deploy, each one activity the workflow names in its history and each idempotent:
 * a retry after a killed worker finds the effect of the first attempt and finishes or keeps it.
 */
export function deployActivities(config: OpsflowConfig) {
  const target = (s: HostStep): DeployTarget => deployTarget(config, s.service, s.host);
  const systemd = systemdActivities(config);

  async function runCommand(t: DeployTarget, what: string, cmd: DeployCommand, cwd: string): Promise<void> {
    const r = await whileHeartbeating(() => t.run(cmd.argv, { cwd, timeoutMs: cmd.timeout }));
    // A command that fails is the code's problem, not the network's: retrying the same build gives the same answer.
    if (r.code !== 0)
      throw ApplicationFailure.nonRetryable(
        `${t.service}/${t.host}: ${what} (${cmd.argv.join(' ')}) exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`,
        'DeployCommandFailed',
      );
  }

  function lb(t: DeployTarget): { cfg: HaproxyLoadBalancerConfig; server: string } | undefined {
    if (t.cfg.lb === undefined || t.hostCfg.lbServer === undefined) return undefined;
    const cfg = config.loadBalancers[t.cfg.lb];
    if (cfg?.type !== 'haproxy')
      throw ApplicationFailure.nonRetryable(
        `deploy.services.${t.service}.lb "${t.cfg.lb}" is not an haproxy load balancer`,
        'UnknownTarget',
      );
    return { cfg, server: t.hostCfg.lbServer };
  }

  /** The host's server in the service's HAProxy set to `state`; nothing without one. */
  async function setHostServer(s: HostStep, state: 'drain' | 'ready'): Promise<{ server?: string }> {
    const t = target(s);
    const l = lb(t);
    if (!l) return {};
    await haproxyAdapter(t.cfg.lb!, l.cfg).setServerState(l.server, state);
    return { server: l.server };
  }

  return {
    /** The fleet: the hosts named (each must be the service's) or all, in config order. Reads config only. */
    async deployFleet(a: {
      service: string;
      hosts?: string[];
      attempts?: number;
    }): Promise<{ names: string[]; hasMigrate: boolean }> {
      const svc = config.deploy.services[a.service];
      const known = (what: Record<string, unknown>) => Object.keys(what).join(', ') || 'none';
      if (!svc)
        throw ApplicationFailure.nonRetryable(
          `service: "${a.service}" is not a deploy service in the worker config (known: ${known(config.deploy.services)})`,
          'UnknownTarget',
        );
      const unknown = (a.hosts ?? []).filter((h) => !(h in svc.hosts));
      if (unknown.length)
        throw ApplicationFailure.nonRetryable(
          `hosts: ${unknown.map((h) => `"${h}"`).join(', ')} not a host of service ${a.service} (known: ${known(svc.hosts)})`,
          'UnknownTarget',
        );
      // Refused before any host is touched: a budget that can never make a host healthy would fail the first one.
      if (a.attempts !== undefined) requireHealthPolicy(a.service, { attempts: a.attempts, passes: svc.healthPasses });
      return { names: a.hosts ?? Object.keys(svc.hosts), hasMigrate: svc.commands.migrate !== undefined };
    },

    /** Resolves the ref once, on the worker's own mirror, so every host deploys the same commit. */
    async resolveDeployRef(a: { service: string; ref: string }): Promise<{ commit: string }> {
      const svc = config.deploy.services[a.service];
      if (!svc) throw ApplicationFailure.nonRetryable(`unknown deploy service "${a.service}"`, 'UnknownTarget');
      const dir = join(config.deploy.cacheDir ?? join(tmpdir(), 'opsflow-deploy-cache'), `${a.service}.git`);
      try {
        await whileHeartbeating(() => freshMirror(svc.repository, dir, 5 * 60_000));
        return { commit: await resolveCommit(dir, a.ref) };
      } catch (err) {
        if (err instanceof GitError && err.permanent)
          throw ApplicationFailure.nonRetryable(`ref: ${err.message} in ${svc.repository}`, 'RefNotFound');
        throw err;
      }
    },

    async readHostReleases(s: HostStep): Promise<HostReleases> {
      return readReleases(target(s));
    },

    async buildHostRelease(
      s: HostStep & { release: string; commit: string },
    ): Promise<{ release: string; built: boolean }> {
      const t = target(s);
      return whileHeartbeating(() =>
        buildRelease(t, s.release, s.commit, (what, cmd, cwd) => runCommand(t, what, cmd, cwd)),
      );
    },

    /** Once per deploy, in the new release on the first host, before any host switches. */
    async runMigrations(s: HostStep & { release: string }): Promise<{ ran: boolean }> {
      const t = target(s);
      if (!t.cfg.commands.migrate) return { ran: false };
      await runCommand(t, 'migrate', t.cfg.commands.migrate, `${t.path}/releases/${s.release}`);
      return { ran: true };
    },

    async switchHostCurrent(s: HostStep & { release: string }): Promise<{ previous?: string }> {
      return switchCurrent(target(s), s.release);
    },

    async restartHostUnits(s: HostStep): Promise<{ units: string[] }> {
      const t = target(s);
      const units = t.hostCfg.units ?? t.cfg.units;
      const host = t.hostCfg.transport === 'local' ? undefined : t.hostCfg.transport.ssh;
      for (const unit of units) await systemd.restartUnit({ unit, host });
      return { units };
    },

    /** `nginx -t` first: a config that does not test is never reloaded. */
    async reloadHostNginx(s: HostStep): Promise<{ reloaded: boolean }> {
      const t = target(s);
      const n = t.cfg.nginx;
      if (!n) return { reloaded: false };
      const args = [
        ...(n.prefix ? ['-p', n.prefix] : []),
        ...(n.configFile ? ['-c', n.configFile] : []),
        ...(n.errorLog ? ['-e', n.errorLog] : []),
      ];
      const argv = (extra: string[]) =>
        n.sudo ? ['sudo', '-n', n.binary, ...args, ...extra] : [n.binary, ...args, ...extra];
      const test = await t.run(argv(['-t']), { timeoutMs: n.timeout });
      if (test.code !== 0)
        throw ApplicationFailure.nonRetryable(
          `${t.service}/${t.host}: nginx -t failed: ${(test.stderr || test.stdout).trim()}`,
          'NginxConfigInvalid',
        );
      const reload = await t.run(argv(['-s', 'reload']), { timeoutMs: n.timeout });
      if (reload.code !== 0)
        throw ApplicationFailure.retryable(
          `${t.service}/${t.host}: nginx -s reload failed: ${(reload.stderr || reload.stdout).trim()}`,
          'NginxReloadFailed',
        );
      return { reloaded: true };
    },

    /**
     * runbooks §7's `attempts` requests `intervalMs` apart are the budget to become healthy; healthy
     * takes the service's `healthPasses` consecutive passes (2xx). Stops as soon as the attempts
     * left cannot give them. Never throws for an unhealthy host: the saga decides.
     */
    async checkHostHealth(s: HostStep & { attempts: number; intervalMs: number }): Promise<HostHealth> {
      const t = target(s);
      const policy = requireHealthPolicy(t.service, { attempts: s.attempts, passes: t.cfg.healthPasses });
      const http = httpTarget.parse({
        url: t.hostCfg.healthUrl,
        timeoutMs: Math.max(1_000, Math.min(10_000, s.intervalMs)),
      });
      return whileHeartbeating(async () => {
        const probes: HealthProbe[] = [];
        for (;;) {
          const r = await probe(http);
          probes.push({
            pass: r.status !== undefined && r.status >= 200 && r.status < 300,
            what: r.status !== undefined ? `HTTP ${r.status}` : (r.error ?? 'no answer'),
          });
          const j = judgeHealth(probes, policy);
          const seen = {
            attempts: probes.length,
            last: probes[probes.length - 1].what,
            passes: probes.filter((p) => p.pass).length,
          };
          if (j.verdict === 'healthy') return { healthy: true, ...seen };
          if (j.verdict === 'unhealthy') return { healthy: false, ...seen, flapping: j.flapping, reason: j.reason };
          await sleep(s.intervalMs);
        }
      });
    },

    async markHostRelease(s: HostStep & { release: string; state: 'complete' | 'failed' }): Promise<void> {
      await markRelease(target(s), s.release, s.state);
    },

    /** Where a rollback of this host goes (the named release or the previous complete one). */
    async hostRollbackTarget(
      s: HostStep & { release?: string; current?: string },
    ): Promise<{ release?: string; reason?: string; current?: string }> {
      const r = await readReleases(target(s));
      const current = s.current ?? r.current;
      const to = rollbackTarget(r.releases, current, s.release);
      return to.ok ? { release: to.release, current: r.current } : { reason: to.reason, current: r.current };
    },

    async drainHost(s: HostStep): Promise<{ server?: string }> {
      return setHostServer(s, 'drain');
    },

    /** Waits for HAProxy to report 0 sessions on the server, up to `timeoutMs`; never cuts a connection. */
    async confirmHostDrained(s: HostStep & { timeoutMs: number }): Promise<{ drained: boolean; sessions: number }> {
      const t = target(s);
      const l = lb(t);
      if (!l) return { drained: true, sessions: 0 };
      const deadline = Date.now() + s.timeoutMs;
      return whileHeartbeating(async () => {
        for (;;) {
          const sessions = await serverSessions(l.cfg, l.server);
          if (sessions === 0) return { drained: true, sessions };
          if (Date.now() >= deadline) return { drained: false, sessions };
          await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
        }
      });
    },

    async readyHost(s: HostStep): Promise<{ server?: string }> {
      return setHostServer(s, 'ready');
    },

    /** After success only: releases beyond `keep` complete ones, never current, its predecessor or `protect`. */
    async pruneHostReleases(s: HostStep & { keep: number; protect: string[] }): Promise<{ removed: string[] }> {
      const t = target(s);
      const r = await readReleases(t);
      const removed = releasesToPrune(r.releases, r.current, s.keep, s.protect);
      await removeReleases(t, removed, s.protect[0]);
      return { removed };
    },
  };
}

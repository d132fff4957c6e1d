import { configTarget } from '../config-target';
import type { OpsflowConfig } from '../../config/schema';
import type { CheckResult, ResourceThresholds } from '../../domain/health/report';
import { rateLevel } from '../../domain/health/report';
import type { HealthCheckInput, HealthCheckPlan } from '../../domain/health/input';
import { unitIsActive } from '../systems/systemd/systemctl';
import { hostSnapshot } from '../systems/host/resources';
import { probe } from '../systems/http/probe';
import { clientConfig } from '../systems/postgres/connect';
import { pingPostgres } from '../systems/postgres/ping';
import { pingRedis } from '../systems/redis/ping';
import { reach } from '../systems/tcp/reach';
import { heartbeating } from '../heartbeat';
import { isBaselineRef } from '../../domain/baseline/gate';
import { defaultBackupTargets } from './backup-targets';

/** A reachability check's result: up is healthy, anything else is down. */
function upOrDown(
  kind: CheckResult['kind'],
  target: string,
  ok: boolean,
  value: number | undefined,
  unit: string,
  okMessage: string,
  downMessage: string,
): CheckResult {
  return { kind, target, status: ok ? 'healthy' : 'down', value, unit, message: ok ? okMessage : downMessage };
}

/**
 * The activities of `healthCheckWorkflow`. Every check only reads, so every one is safe to retry;
 * a target that is down is a result ("down"), not an activity failure.
 */
export function healthActivities(config: OpsflowConfig) {
  // Checks heartbeat, so a run whose worker died mid-check retries it within the heartbeat timeout.
  return heartbeating({
    /** Resolves the input against the config: names it lists must exist; lists it omits mean "all" (backups: all expected to have copies). */
    async planHealthCheck(input: HealthCheckInput): Promise<HealthCheckPlan> {
      const t = input.targets;
      const pick = (given: string[] | undefined, section: Record<string, unknown>, sectionName: string) => {
        given?.forEach((n) => configTarget(section, sectionName, n));
        return given ?? Object.keys(section);
      };
      const notify = input.notify ?? config.healthCheckNotify;
      notify.forEach((n) => configTarget(config.notifiers, 'notifiers', n));
      return {
        systemd: t?.systemd ?? config.systemd.units,
        http: pick(t?.http, config.http, 'http'),
        postgres: pick(t?.postgres, config.postgres, 'postgres'),
        redis: pick(t?.redis, config.redis, 'redis'),
        hosts: pick(t?.hosts, config.hosts, 'hosts'),
        backups: t?.backups ? pick(t.backups, config.backups, 'backups') : defaultBackupTargets(config),
        resources: t?.resources ?? true,
        // A baseline's levels are resolved by the workflow and laid over these (it has no disk levels).
        thresholds: input.thresholds && !isBaselineRef(input.thresholds) ? input.thresholds : config.thresholds,
        notify,
      };
    },

    async checkSystemdUnit(unit: string): Promise<CheckResult> {
      const { active, state } = await unitIsActive(config.systemd, unit);
      return { kind: 'systemd', target: unit, status: active ? 'healthy' : 'down', message: `is-active: ${state}` };
    },

    async checkHostResources(thresholds: ResourceThresholds): Promise<CheckResult[]> {
      const snap = await hostSnapshot();
      const pct = (
        kind: CheckResult['kind'],
        target: string,
        value: number,
        l: { warning: number; critical: number },
      ): CheckResult => ({
        kind,
        target,
        status: rateLevel(value, l),
        value,
        unit: '%',
        message: `${value}% used (warning > ${l.warning}%, critical > ${l.critical}%)`,
      });
      return [
        pct('cpu', 'host', snap.cpuPercent, thresholds.cpuPercent),
        pct('memory', 'host', snap.memoryPercent, thresholds.memoryPercent),
        ...snap.filesystems.map((f) => pct('disk', f.mount, f.usedPercent, thresholds.diskPercent)),
      ];
    },

    async checkHttpEndpoint(name: string): Promise<CheckResult> {
      const target = configTarget(config.http, 'http', name);
      const r = await probe(target);
      const detail = r.error ?? `answered ${r.status} in ${r.latencyMs} ms (expected ${target.expectStatus})`;
      return upOrDown('http', name, r.ok, r.latencyMs, 'ms', `${target.url} ${detail}`, `${target.url}: ${detail}`);
    },

    async checkPostgres(name: string): Promise<CheckResult> {
      const target = configTarget(config.postgres, 'postgres', name);
      const r = await pingPostgres(clientConfig(name, target));
      const role = r.inRecovery === undefined ? '' : r.inRecovery ? ' (replica)' : ' (primary)';
      const where = `${target.host}:${target.port}/${target.database}`;
      return upOrDown(
        'postgres',
        name,
        r.ok,
        r.latencyMs,
        'ms',
        `SELECT 1 in ${r.latencyMs} ms${role}`,
        `${where}: ${r.error}`,
      );
    },

    async checkRedis(name: string): Promise<CheckResult> {
      const target = configTarget(config.redis, 'redis', name);
      const r = await pingRedis(name, target);
      const where = `${target.host}:${target.port}`;
      return upOrDown(
        'redis',
        name,
        r.ok,
        r.clients,
        'clients',
        `PONG, ${r.clients} connected clients`,
        `${where}: ${r.error}`,
      );
    },

    async checkTcpHost(name: string): Promise<CheckResult> {
      const target = configTarget(config.hosts, 'hosts', name);
      const r = await reach(target.host, target.port, target.timeoutMs);
      const where = `${target.host}:${target.port}`;
      return upOrDown(
        'tcp',
        name,
        r.ok,
        r.latencyMs,
        'ms',
        `${where} reachable in ${r.latencyMs} ms`,
        `${where}: ${r.error}`,
      );
    },
  });
}

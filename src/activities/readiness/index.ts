import { ApplicationFailure, Context } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { ReadinessItem, ReadinessCheckKind } from '../../config/sections/readiness';
import { resolveSecret, SecretError } from '../../config/secrets';
import { checkError, fromEvidence, type CheckResult, type Evidence } from '../../domain/readiness/evidence';
import type { ChecklistItem } from '../../domain/readiness/checks';
import { configTarget } from '../config-target';
import { checkCertificate } from '../systems/tls/certificate';
import { checkDnsRecords } from '../systems/dns/records';
import { checkPorts } from '../systems/tcp/ports';
import { probe } from '../systems/http/probe';
import { checkAuthentication, checkRoundTrip } from '../systems/http/readiness';
import { checkPrometheus } from '../systems/metrics/prometheus-readiness';
import { notifyActivities } from '../systems/notify';
import { clientConfig } from '../systems/postgres/connect';
import { pingPostgres } from '../systems/postgres/ping';
import { pingRedis } from '../systems/redis/ping';
import { lookupLoadBalancer } from '../systems/load-balancer';
import { unitIsActive } from '../systems/systemd/systemctl';
import { lastGreenHealthCheck } from '../health/last-green';
import { formatDuration } from '../../domain/duration';
import { readBackupSet } from '../backup/copies';
import { backupEvidence } from '../../domain/readiness/backup';

/** What an activity of one check is given: the checklist and the item, by name; the rest is config. */
export interface ReadinessCheckRequest {
  checklist: string;
  item: string;
  /** Identifies the run, so a notifier test message is one message per round. */
  runKey: string;
}

/** The item's one-line description when the config gives none: what it checks, where. */
function describe(i: ReadinessItem): string {
  switch (i.check) {
    case 'tls':
      return `TLS certificate of ${i.servername ?? i.host} (${i.host}:${i.port}) valid, chain complete, > ${i.minDaysValid} days left`;
    case 'dns':
      return `${i.name} resolves to ${i.expect.join(', ')}`;
    case 'tcp':
      return `${i.host}: open ${i.open.join(', ') || '—'}; closed ${i.closed.join(', ') || '—'}`;
    case 'http':
      return `API endpoint ${i.target} answers`;
    case 'roundTrip':
      return `upload then download round-trips ${i.bytes} bytes`;
    case 'auth':
      return `${i.url} refuses a bad credential and accepts a good one`;
    case 'prometheus':
      return `Prometheus ${i.source}: jobs ${i.jobs.join(', ') || '—'} up; rules ${i.rules.join(', ') || '—'} loaded`;
    case 'loadBalancer':
      return `load balancer ${i.lb} knows ${i.servers.join(', ')}, ready`;
    case 'systemd':
      return `units ${i.units.join(', ')} active`;
    case 'healthCheck':
      return `a health check ran green within ${formatDuration(i.within)}`;
    case 'backup':
      return `a copy of backup set ${i.set} verified by its restore drill, < ${i.maxAgeHours} h old`;
    case 'notifier':
      return `alert channel ${i.notifier} delivers a test message`;
    case 'postgres':
      return `database ${i.target} answers`;
    case 'redis':
      return `cache ${i.target} answers`;
    case 'signOff':
      return i.description;
  }
}

type Of<K extends ReadinessCheckKind> = Extract<ReadinessItem, { check: K }>;

/**
 * The readiness gate's activities: the checklist from config, and one activity per kind of check,
 * each returning pass/fail/error with its evidence. Every check only reads (the notifier test sends
 * one test message, keyed per run and round), so each is safe to retry; a system that answers
 * wrongly is a `fail` with evidence, one that cannot be asked is an `error`; config mistakes are
 * non-retryable failures.
 */
export function readinessActivities(config: OpsflowConfig) {
  const item = <K extends ReadinessCheckKind>(r: ReadinessCheckRequest, kind: K): Of<K> => {
    const list = configTarget(config.readiness.checklists, 'readiness.checklists', r.checklist, 'checklist');
    const found = list.items.find((i) => i.id === r.item);
    if (!found)
      throw ApplicationFailure.nonRetryable(
        `item: "${r.item}" is not in readiness checklist ${r.checklist}`,
        'UnknownItem',
      );
    if (found.check !== kind)
      throw ApplicationFailure.nonRetryable(`item: "${r.item}" is a ${found.check} check, not ${kind}`, 'WrongCheck');
    return found as Of<K>;
  };
  /** Runs a check; a thrown error (refused connection, timeout, bad answer) is the `error` outcome. */
  const judge = async (r: ReadinessCheckRequest, facts: () => Promise<Evidence[]>): Promise<CheckResult> => {
    try {
      return fromEvidence(r.item, await facts());
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (err instanceof SecretError) throw ApplicationFailure.nonRetryable(err.message, 'MissingSecret');
      return checkError(r.item, (err as Error).message);
    }
  };
  const notifier = notifyActivities(config);
  const at = () => new Date().toISOString();

  return {
    async readinessChecklist(name: string): Promise<ChecklistItem[]> {
      const list = configTarget(config.readiness.checklists, 'readiness.checklists', name, 'checklist');
      return list.items.map((i) => ({
        id: i.id,
        check: i.check,
        description: i.description ?? describe(i),
        ...(i.category ? { category: i.category } : {}),
      }));
    },
    async readinessTls(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'tls');
      return judge(r, () =>
        checkCertificate({
          host: i.host,
          port: i.port,
          servername: i.servername ?? i.host,
          ca: i.caFile,
          minDaysValid: i.minDaysValid,
          timeoutMs: i.timeoutMs,
        }),
      );
    },
    async readinessDns(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'dns');
      return judge(r, () => checkDnsRecords(i));
    },
    async readinessTcp(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'tcp');
      return judge(r, () => checkPorts(i.host, i.open, i.closed, i.timeoutMs));
    },
    async readinessHttp(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'http');
      const t = configTarget(config.http, 'http', i.target, 'target');
      return judge(r, async () => {
        const p = await probe(t, {
          section: 'http',
          name: i.target,
          field: `readiness.checklists.${r.checklist}.${r.item}.target`,
        });
        if (p.status === undefined) throw new Error(`${t.url}: ${p.error}`);
        return [
          {
            what: 'status',
            value: `HTTP ${p.status} in ${p.latencyMs} ms`,
            threshold: `${t.expectStatus}`,
            target: t.url,
            at: at(),
            ok: p.ok,
          },
        ];
      });
    },
    async readinessRoundTrip(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'roundTrip');
      return judge(r, () => checkRoundTrip(i));
    },
    async readinessAuth(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'auth');
      return judge(r, () =>
        checkAuthentication({
          ...i,
          good: resolveSecret(i.good, `readiness.checklists.${r.checklist}.${r.item}.good`),
        }),
      );
    },
    async readinessPrometheus(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'prometheus');
      const src = configTarget(config.metricSources, 'metricSources', i.source, 'source');
      if (src.type !== 'prometheus')
        throw ApplicationFailure.nonRetryable(`source: metric source "${i.source}" is not prometheus`, 'WrongSource');
      return judge(r, () => checkPrometheus(i.source, src, i.jobs, i.rules));
    },
    async readinessLoadBalancer(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'loadBalancer');
      const lb = lookupLoadBalancer(config, i.lb);
      return judge(r, () =>
        Promise.all(
          i.servers.map(async (server): Promise<Evidence> => {
            const fact = (value: string, ok: boolean): Evidence => ({
              what: `server ${server}`,
              value,
              threshold: 'known, ready',
              target: `load balancer ${i.lb}`,
              at: at(),
              ok,
            });
            try {
              await lb.checkServers([server]);
            } catch (err) {
              // The adapter's "no such server" is this check's finding, not a config mistake.
              if (err instanceof ApplicationFailure && err.type === 'UnknownLoadBalancerServer')
                return fact(`unknown: ${err.message}`, false);
              throw err;
            }
            const state = await lb.readServerState(server);
            return fact(`known, ${state}`, state === 'ready');
          }),
        ),
      );
    },
    async readinessSystemd(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'systemd');
      return judge(r, () =>
        Promise.all(
          i.units.map(async (unit): Promise<Evidence> => {
            const u = await unitIsActive(config.systemd, unit);
            return {
              what: `unit ${unit}`,
              value: u.state,
              threshold: 'active',
              target: `${config.systemd.systemctl} is-active`,
              at: at(),
              ok: u.active,
            };
          }),
        ),
      );
    },
    async readinessHealthCheck(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'healthCheck');
      return judge(r, () => lastGreenHealthCheck(Context.current().client, i.within));
    },
    /** Reads the set's destination as the health check's backup age does (the same reader). */
    async readinessBackup(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'backup');
      const set = configTarget(config.backups, 'backups', i.set, 'set');
      return judge(r, async () =>
        backupEvidence(i.set, await readBackupSet(set.destination), Date.now(), i.maxAgeHours, at()),
      );
    },
    async readinessNotifier(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'notifier');
      return judge(r, async () => {
        const sent = await notifier.notify({
          notifier: i.notifier,
          idempotencyKey: `${r.runKey}/readiness-test/${i.notifier}`,
          severity: 'info',
          title: `opsflow readiness test of ${i.notifier}`,
          text: `Test message from the readiness check ${r.checklist}/${r.item}: this channel delivers.`,
          details: { checklist: r.checklist, item: r.item, test: true },
        });
        return [
          {
            what: 'test message',
            value: `accepted (status ${sent.status})`,
            threshold: 'delivered',
            target: `notifier ${i.notifier}`,
            at: at(),
            ok: true,
          },
        ];
      });
    },
    async readinessPostgres(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'postgres');
      const t = configTarget(config.postgres, 'postgres', i.target, 'target');
      return judge(r, async () => {
        const p = await pingPostgres(clientConfig(i.target, t, `readiness.checklists.${r.checklist}.${r.item}.target`));
        return [
          {
            what: 'SELECT 1',
            value: p.ok ? `answered in ${p.latencyMs} ms` : `no answer: ${p.error}`,
            threshold: 'answers',
            target: `${t.host}:${t.port}/${t.database}`,
            at: at(),
            ok: p.ok,
          },
        ];
      });
    },
    async readinessRedis(r: ReadinessCheckRequest): Promise<CheckResult> {
      const i = item(r, 'redis');
      const t = configTarget(config.redis, 'redis', i.target, 'target');
      return judge(r, async () => {
        const p = await pingRedis(i.target, t, `readiness.checklists.${r.checklist}.${r.item}.target`);
        return [
          {
            what: 'PING',
            value: p.ok ? 'PONG' : `no answer: ${p.error}`,
            threshold: 'PONG',
            target: `${t.host}:${t.port}`,
            at: at(),
            ok: p.ok,
          },
        ];
      });
    },
  };
}

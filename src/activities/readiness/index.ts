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
import { heartbeating } from '../heartbeat';

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
 * non-retryable failures. Every check heartbeats while it runs, so a worker that dies mid-check
 * (a probe waiting on a silent endpoint) is noticed within the heartbeat timeout and the check is
 * retried elsewhere, instead of the gate waiting out the start-to-close timeout.
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
  /** One fact of the evidence, taken now. */
  const fact = (what: string, value: string, threshold: string, target: string, ok: boolean): Evidence => ({
    what,
    value,
    threshold,
    target,
    at: new Date().toISOString(),
    ok,
  });
  /**
   * The activity of a kind of check: the item looked up, then `facts` (what it reads from config,
   * outside the judging) gives the facts to judge.
   */
  const check =
    <K extends ReadinessCheckKind>(kind: K, facts: (i: Of<K>, r: ReadinessCheckRequest) => () => Promise<Evidence[]>) =>
    async (r: ReadinessCheckRequest): Promise<CheckResult> =>
      judge(r, facts(item(r, kind), r));
  const field = (r: ReadinessCheckRequest, name: string) => `readiness.checklists.${r.checklist}.${r.item}.${name}`;

  return heartbeating({
    async readinessChecklist(name: string): Promise<ChecklistItem[]> {
      const list = configTarget(config.readiness.checklists, 'readiness.checklists', name, 'checklist');
      return list.items.map((i) => ({
        id: i.id,
        check: i.check,
        description: i.description ?? describe(i),
        ...(i.category ? { category: i.category } : {}),
      }));
    },
    readinessTls: check(
      'tls',
      (i) => () =>
        checkCertificate({
          host: i.host,
          port: i.port,
          servername: i.servername ?? i.host,
          ca: i.caFile,
          minDaysValid: i.minDaysValid,
          timeoutMs: i.timeoutMs,
        }),
    ),
    readinessDns: check('dns', (i) => () => checkDnsRecords(i)),
    readinessTcp: check('tcp', (i) => () => checkPorts(i.host, i.open, i.closed, i.timeoutMs)),
    readinessHttp: check('http', (i, r) => {
      const t = configTarget(config.http, 'http', i.target, 'target');
      return async () => {
        const p = await probe(t, { section: 'http', name: i.target, field: field(r, 'target') });
        if (p.status === undefined) throw new Error(`${t.url}: ${p.error}`);
        return [fact('status', `HTTP ${p.status} in ${p.latencyMs} ms`, `${t.expectStatus}`, t.url, p.ok)];
      };
    }),
    readinessRoundTrip: check('roundTrip', (i) => () => checkRoundTrip(i)),
    readinessAuth: check(
      'auth',
      (i, r) => () => checkAuthentication({ ...i, good: resolveSecret(i.good, field(r, 'good')) }),
    ),
    readinessPrometheus: check('prometheus', (i) => {
      const src = configTarget(config.metricSources, 'metricSources', i.source, 'source');
      if (src.type !== 'prometheus')
        throw ApplicationFailure.nonRetryable(`source: metric source "${i.source}" is not prometheus`, 'WrongSource');
      return () => checkPrometheus(i.source, src, i.jobs, i.rules);
    }),
    readinessLoadBalancer: check('loadBalancer', (i) => {
      const lb = lookupLoadBalancer(config, i.lb);
      return () =>
        Promise.all(
          i.servers.map(async (server): Promise<Evidence> => {
            const known = (value: string, ok: boolean) =>
              fact(`server ${server}`, value, 'known, ready', `load balancer ${i.lb}`, ok);
            try {
              await lb.checkServers([server]);
            } catch (err) {
              // The adapter's "no such server" is this check's finding, not a config mistake.
              if (err instanceof ApplicationFailure && err.type === 'UnknownLoadBalancerServer')
                return known(`unknown: ${err.message}`, false);
              throw err;
            }
            const state = await lb.readServerState(server);
            return known(`known, ${state}`, state === 'ready');
          }),
        );
    }),
    readinessSystemd: check(
      'systemd',
      (i) => () =>
        Promise.all(
          i.units.map(async (unit) => {
            const u = await unitIsActive(config.systemd, unit);
            return fact(`unit ${unit}`, u.state, 'active', `${config.systemd.systemctl} is-active`, u.active);
          }),
        ),
    ),
    readinessHealthCheck: check('healthCheck', (i) => () => lastGreenHealthCheck(Context.current().client, i.within)),
    /** Reads the set's destination as the health check's backup age does (the same reader). */
    readinessBackup: check('backup', (i) => {
      const set = configTarget(config.backups, 'backups', i.set, 'set');
      return async () =>
        backupEvidence(
          i.set,
          await readBackupSet(set.destination),
          Date.now(),
          i.maxAgeHours,
          new Date().toISOString(),
        );
    }),
    readinessNotifier: check('notifier', (i, r) => async () => {
      const sent = await notifier.notify({
        notifier: i.notifier,
        idempotencyKey: `${r.runKey}/readiness-test/${i.notifier}`,
        severity: 'info',
        title: `opsflow readiness test of ${i.notifier}`,
        text: `Test message from the readiness check ${r.checklist}/${r.item}: this channel delivers.`,
        details: { checklist: r.checklist, item: r.item, test: true },
      });
      return [fact('test message', `accepted (status ${sent.status})`, 'delivered', `notifier ${i.notifier}`, true)];
    }),
    readinessPostgres: check('postgres', (i, r) => {
      const t = configTarget(config.postgres, 'postgres', i.target, 'target');
      return async () => {
        const p = await pingPostgres(clientConfig(i.target, t, field(r, 'target')));
        const value = p.ok ? `answered in ${p.latencyMs} ms` : `no answer: ${p.error}`;
        return [fact('SELECT 1', value, 'answers', `${t.host}:${t.port}/${t.database}`, p.ok)];
      };
    }),
    readinessRedis: check('redis', (i, r) => {
      const t = configTarget(config.redis, 'redis', i.target, 'target');
      return async () => {
        const p = await pingRedis(i.target, t, field(r, 'target'));
        return [fact('PING', p.ok ? 'PONG' : `no answer: ${p.error}`, 'PONG', `${t.host}:${t.port}`, p.ok)];
      };
    }),
  });
}

import { z } from 'zod';
import { addIssue } from '../../domain/validation';
import {
  count,
  httpUrl,
  nonEmpty,
  nonNegativeInt,
  positiveInt,
  stringMap,
  texts,
  unitNames,
} from '../../domain/fields';
import { secretRef } from '../secrets';
import { targetName, tcpPort } from '../../domain/names';
import { durationField } from '../../domain/duration';
import { nameChecks, type Issue } from '../references';

/**
 * Go-live readiness checklists (runbooks §10): each item is an automated check evaluated live at the
 * gate, with its evidence, or a human sign-off. Items refer to other config sections by name.
 */
const base = {
  /** Unique in its checklist: sign-offs and waivers name it. */
  id: targetName,
  description: nonEmpty.max(300).optional(),
  category: z.enum(['infrastructure', 'application', 'monitoring', 'backups', 'people']).optional(),
};

/** An item of one kind: the fields every item has, its `check` and its own fields. */
const item = <C extends string, F extends z.ZodRawShape>(check: C, fields: F) =>
  z
    .object({ ...base, check: z.literal(check) })
    .extend(fields)
    .strict();

const ipAddress = z.union([z.ipv4(), z.ipv6()]);

const tlsItem = item('tls', {
  host: nonEmpty,
  port: tcpPort.default(443),
  /** The name the certificate must be valid for; the host when omitted. */
  servername: nonEmpty.optional(),
  /** A PEM file of extra trusted CAs (a private CA); the system store otherwise. */
  caFile: nonEmpty.optional(),
  minDaysValid: nonNegativeInt.default(14),
  timeoutMs: positiveInt.default(10_000),
});

const dnsItem = item('dns', {
  name: nonEmpty,
  /** Every address the name must resolve to, and no other. */
  expect: z.array(ipAddress).min(1),
  /** Resolvers to ask (`"10.0.0.2"`, `"127.0.0.1:5353"`); the system's when omitted. */
  resolvers: texts.min(1).optional(),
  timeoutMs: positiveInt.default(5_000),
});

const tcpItem = item('tcp', {
  host: nonEmpty,
  /** Ports that must accept a connection (host reachable, firewall open). */
  open: z.array(tcpPort).default([]),
  /** Ports the firewall must keep closed. */
  closed: z.array(tcpPort).default([]),
  timeoutMs: positiveInt.default(3_000),
}).refine((i) => i.open.length + i.closed.length > 0, {
  path: ['open'],
  message: 'at least one port in open or closed',
});

const httpItem = item('http', { target: targetName });

const roundTripItem = item('roundTrip', {
  /** PUT of random bytes here; `{key}` is replaced by a fresh key. */
  uploadUrl: httpUrl,
  /** GET of the same object; `{key}` as above. */
  downloadUrl: httpUrl,
  bytes: count.max(10_000_000).default(4096),
  headers: stringMap.optional(),
  timeoutMs: positiveInt.default(10_000),
});

const authItem = item('auth', {
  url: httpUrl,
  /** The header carrying the credential. */
  header: nonEmpty.default('authorization'),
  /** A credential that must be accepted (a secret: env or file). */
  good: secretRef,
  /** A credential that must be refused. */
  bad: nonEmpty.default('Bearer opsflow-readiness-invalid'),
  timeoutMs: positiveInt.default(10_000),
});

const prometheusItem = item('prometheus', {
  /** A metric source of type prometheus. */
  source: targetName,
  /** Scrape jobs whose every active target must be up. */
  jobs: texts.default([]),
  /** Alerting rules that must be loaded. */
  rules: texts.default([]),
}).refine((i) => i.jobs.length + i.rules.length > 0, { path: ['jobs'], message: 'at least one job or rule' });

/** The load balancer knows each backend server (through its adapter) and has it ready. */
const loadBalancerItem = item('loadBalancer', { lb: targetName, servers: texts.min(1) });
/** systemd units are active (through the systemd adapter: local or over SSH). */
const systemdItem = item('systemd', { units: unitNames.min(1) });
/** A scheduled health check completed green within this long (Temporal visibility). */
const healthCheckItem = item('healthCheck', { within: durationField(1_000).default(3_600_000) });

/**
 * The backup set's newest copy whose restore drill passed (the backup workflow's verified copy) is
 * younger than `maxAgeHours`: read from the set's destination the way the health check reads it.
 */
const backupItem = item('backup', { set: targetName, maxAgeHours: z.number().positive().default(24) });

const notifierItem = item('notifier', { notifier: targetName });
const postgresItem = item('postgres', { target: targetName });
const redisItem = item('redis', { target: targetName });
/** A human item: training done, on-call rota published, vendor contacts listed, off-site copy. */
const signOffItem = item('signOff', { description: nonEmpty.max(300) });

export const readinessItem = z.discriminatedUnion('check', [
  tlsItem,
  dnsItem,
  tcpItem,
  httpItem,
  roundTripItem,
  authItem,
  prometheusItem,
  loadBalancerItem,
  systemdItem,
  healthCheckItem,
  backupItem,
  notifierItem,
  postgresItem,
  redisItem,
  signOffItem,
]);

const readinessChecklist = z
  .object({ items: z.array(readinessItem).min(1) })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.items.forEach((item, i) => {
      if (seen.has(item.id)) addIssue(ctx, ['items', i, 'id'], `duplicate item id "${item.id}"`);
      seen.add(item.id);
    });
  });

export const readinessConfig = z.object({ checklists: z.record(targetName, readinessChecklist).default({}) }).strict();

export type ReadinessItem = z.infer<typeof readinessItem>;
export type ReadinessCheckKind = ReadinessItem['check'];
export type ReadinessConfig = z.infer<typeof readinessConfig>;

/** The sections an item names: each must exist, so a typo fails at load, naming the field. */
export function checkReadinessReferences(
  cfg: ReadinessConfig,
  sections: {
    http: object;
    notifiers: object;
    postgres: object;
    redis: object;
    loadBalancers: object;
    backups: object;
    metricSources: Record<string, { type: string }>;
  },
  issue: Issue,
): void {
  const { one } = nameChecks(issue);
  for (const [name, list] of Object.entries(cfg.checklists)) {
    list.items.forEach((item, i) => {
      const at = (field: string) => ['readiness', 'checklists', name, 'items', i, field];
      if (item.check === 'http') one(at('target'), item.target, sections.http, 'http target');
      if (item.check === 'postgres') one(at('target'), item.target, sections.postgres, 'postgres target');
      if (item.check === 'redis') one(at('target'), item.target, sections.redis, 'redis target');
      if (item.check === 'loadBalancer') one(at('lb'), item.lb, sections.loadBalancers, 'load balancer');
      if (item.check === 'notifier') one(at('notifier'), item.notifier, sections.notifiers, 'notifier');
      if (item.check === 'backup') one(at('set'), item.set, sections.backups, 'backup set');
      if (item.check === 'prometheus') {
        const src = sections.metricSources[item.source];
        if (!src) issue(at('source'), `unknown metric source "${item.source}"`);
        else if (src.type !== 'prometheus')
          issue(at('source'), `metric source "${item.source}" is ${src.type}, not prometheus`);
      }
    });
  }
}

import { parseConfigText } from '../../src/config/load';
import { ValidationError } from '../../src/config/errors';
import { checkInputNames, namesTargets, validateInput } from '../../src/client/input';
import { scheduleOptions } from '../../src/client/schedules';
import {
  backupEntry,
  dataMigrationEntry,
  diagnosticsEntry,
  healthCheckEntry,
  incidentDigestEntry,
  incidentEntry,
  phasedRolloutEntry,
  type WorkflowEntry,
} from '../../src/client/registry';

const config = parseConfigText(
  JSON.stringify({
    http: { web: { url: 'http://127.0.0.1:1/' } },
    postgres: { app: { database: 'app' }, reports: { database: 'reports' } },
    redis: { cache: {} },
    hosts: { lb: { host: '127.0.0.1', port: 443 } },
    notifiers: { ops: { type: 'webhook', url: 'http://127.0.0.1:2/' } },
    loadBalancers: {
      edge: { type: 'haproxy', runtimeApi: { socket: '/run/haproxy.sock' }, backend: 'app' },
      web: { type: 'nginx', upstreamFile: '/tmp/u.conf', servers: { blue: '127.0.0.1:1', green: '127.0.0.1:2' } },
      api: { type: 'http-api', url: 'http://127.0.0.1:3', token: { env: 'T' } },
    },
    metricSources: { prom: { type: 'prometheus', url: 'http://127.0.0.1:9090' }, host: { type: 'host' } },
    incident: { contacts: { dba: ['ops'] } },
    backups: { nightly: { databases: ['app'], destination: '/var/backups/opsflow' } },
  }),
  'opsflow.config.json',
);

/** The message `opsflow start` exits 2 with, or undefined when every name is known. */
function nameErrors(entry: WorkflowEntry, raw: unknown): string | undefined {
  try {
    checkInputNames(entry, validateInput(entry, raw), config, 'opsflow.config.yaml');
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
}

describe('names an input uses, checked against the config', () => {
  const rollout = {
    service: 'checkout',
    lb: 'web',
    backends: { old: 'blue', new: 'green' },
    metricSources: ['prom'],
    notify: ['ops'],
  };

  test('phased rollout: the LB, its servers where the config lists them, metric sources, notifiers and stakeholders', () => {
    expect(nameErrors(phasedRolloutEntry, rollout)).toBeUndefined();
    expect(nameErrors(phasedRolloutEntry, { ...rollout, lb: 'edge2' })).toBe(
      'invalid phasedRolloutWorkflow input:\nlb: "edge2" is not a load balancer in opsflow.config.yaml (known: edge, web, api)',
    );
    const many = nameErrors(phasedRolloutEntry, {
      ...rollout,
      backends: { old: 'blue', new: 'grean' },
      metricSources: ['prom', 'promm'],
      notify: ['ops'],
      stakeholders: ['cto'],
    });
    expect(many!.split('\n').slice(1)).toEqual([
      'backends.new: "grean" is not a server of load balancer web in opsflow.config.yaml (known: blue, green)',
      'metricSources.1: "promm" is not a metric source in opsflow.config.yaml (known: prom, host)',
      'stakeholders.0: "cto" is not a notifier in opsflow.config.yaml (known: ops)',
    ]);
    // the HTTP API's systems are in the config; HAProxy's servers are asked of HAProxy when the run plans
    expect(
      nameErrors(phasedRolloutEntry, { ...rollout, lb: 'api', backends: { old: 'old_system', new: 'green' } }),
    ).toContain(
      'backends.new: "green" is not a server of load balancer api in opsflow.config.yaml (known: old_system, new_system)',
    );
    expect(
      nameErrors(phasedRolloutEntry, { ...rollout, lb: 'edge', backends: { old: 'any', new: 'other' } }),
    ).toBeUndefined();
  });

  test('data migration: both databases', () => {
    const input = {
      name: 'm',
      source: { database: 'app', table: 'a' },
      target: { database: 'reports', table: 'b' },
      key: 'id',
      columns: { id: 'id' },
    };
    expect(nameErrors(dataMigrationEntry, input)).toBeUndefined();
    expect(nameErrors(dataMigrationEntry, { ...input, target: { database: 'warehouse', table: 'b' } })).toBe(
      'invalid dataMigrationWorkflow input:\ntarget.database: "warehouse" is not a postgres database in opsflow.config.yaml (known: app, reports)',
    );
  });

  test('health check: every target list and the notifiers; a list left out means all and is not checked', () => {
    expect(nameErrors(healthCheckEntry, {})).toBeUndefined();
    expect(
      nameErrors(healthCheckEntry, {
        targets: { http: ['web'], postgres: ['app'], redis: ['cache'], hosts: ['lb'], systemd: ['anything'] },
        notify: ['ops'],
      }),
    ).toBeUndefined();
    expect(
      nameErrors(healthCheckEntry, {
        targets: { http: ['web', 'api'], redis: ['cache2'], hosts: ['db'], postgres: ['app', 'replica'] },
        notify: ['pager'],
      })!
        .split('\n')
        .slice(1),
    ).toEqual([
      'targets.http.1: "api" is not an http target in opsflow.config.yaml (known: web)',
      'targets.postgres.1: "replica" is not a postgres target in opsflow.config.yaml (known: app, reports)',
      'targets.redis.0: "cache2" is not a redis target in opsflow.config.yaml (known: cache)',
      'targets.hosts.0: "db" is not a hosts target in opsflow.config.yaml (known: lb)',
      'notify.0: "pager" is not a notifier in opsflow.config.yaml (known: ops)',
    ]);
  });

  test('incident digest: roles (built in or from contacts) or notifiers; an incident names nothing in the config', () => {
    expect(nameErrors(incidentDigestEntry, { notify: ['cto', 'dba', 'ops'] })).toBeUndefined();
    expect(nameErrors(incidentDigestEntry, { notify: ['dbas'] })).toMatch(
      /^invalid incidentDigestWorkflow input:\nnotify\.0: "dbas" is not a role or notifier in opsflow\.config\.yaml \(known: cto, .*dba, ops\)$/,
    );
    expect(
      nameErrors(incidentEntry, { title: 't', type: 'service_down', services: ['not-in-config'] }),
    ).toBeUndefined();
  });

  test('diagnostics: the postgres target; the input says what to look at', () => {
    expect(nameErrors(diagnosticsEntry, { postgres: 'app' })).toBeUndefined();
    expect(nameErrors(diagnosticsEntry, { postgres: 'ap' })).toBe(
      'invalid diagnosticsWorkflow input:\npostgres: "ap" is not a postgres target in opsflow.config.yaml (known: app, reports)',
    );
    expect(() => validateInput(diagnosticsEntry, { host: false })).toThrow(
      'postgres: nothing to diagnose: name a postgres target or leave host on',
    );
  });

  test('backup: the set', () => {
    expect(nameErrors(backupEntry, { set: 'nightly' })).toBeUndefined();
    expect(nameErrors(backupEntry, { set: 'nighty' })).toBe(
      'invalid backupWorkflow input:\nset: "nighty" is not a backup set in opsflow.config.yaml (known: nightly)',
    );
    expect(() => validateInput(backupEntry, { set: 'nightly', drill: 'yes' })).toThrow(/drill/);
  });

  test('an empty config section says so', () => {
    const empty = parseConfigText('{}', 'e.json');
    expect(() =>
      checkInputNames(phasedRolloutEntry, validateInput(phasedRolloutEntry, rollout), empty, 'e.json'),
    ).toThrow('lb: "web" is not a load balancer in e.json (known: none)');
  });

  test("a schedule's input is checked against the config that holds it", () => {
    const schedule = { workflow: 'healthCheckWorkflow', every: 3_600_000, overlap: 'skip' as const, paused: false };
    expect(scheduleOptions('hc', { ...schedule, input: { notify: ['ops'] } }, config).action).toMatchObject({
      args: [{ notify: ['ops'] }],
    });
    expect(() =>
      scheduleOptions('hc', { ...schedule, input: { notify: ['pager'] } }, config, 'opsflow', 'ops.yaml'),
    ).toThrow('invalid healthCheckWorkflow input:\nnotify.0: "pager" is not a notifier in ops.yaml (known: ops)');
  });
});

describe('a CLI config that names no targets leaves the names to the workers', () => {
  const parsed = (c: unknown) => parseConfigText(JSON.stringify(c), 'opsflow.config.json');

  test('the connection and encryption alone name none; any one named target makes the CLI check', () => {
    expect(namesTargets(parsed({}))).toBe(false);
    expect(
      namesTargets(parsed({ encryption: { keys: [{ id: 'k1', key: { env: 'OPSFLOW_KEY_K1' } }], current: 'k1' } })),
    ).toBe(false);
    expect(namesTargets(config)).toBe(true);
    expect(namesTargets(parsed({ notifiers: { ops: { type: 'webhook', url: 'http://127.0.0.1:2/' } } }))).toBe(true);
    expect(namesTargets(parsed({ redis: { cache: {} } }))).toBe(true);
  });
});

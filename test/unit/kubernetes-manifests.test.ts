import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load';
import { configAddresses, envSecrets, opsflowHelp, root } from '../helpers/deploy-checks';
import { scheduleOptions } from '../../src/client/schedules';

/**
 * deploy/kubernetes, rendered as `kubectl kustomize` renders it and validated offline against the
 * Kubernetes API schemas (kubernetes-validate, strict: an unknown field fails), then checked for
 * what makes it run: config addresses that are Services, secrets that come from the Secret each
 * pod references (and only the ones it uses), real opsflow commands, probes on the worker's
 * metrics endpoint, a grace period longer than the worker's own.
 */
const KUBECTL = 'kubectl';
const VALIDATE = join(root, '.tools/venv/bin/kubernetes-validate');
const SECRET = 'opsflow-secrets';

/** Runs a tool the test needs; one that is not installed fails the test, naming it and how to get it. */
function tool(cmd: string, args: string[], install: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`${cmd} is needed by this test and could not be run (${r.error.message}): ${install}`);
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const render = (): string => {
  const r = tool(
    KUBECTL,
    ['kustomize', 'deploy/kubernetes'],
    'apt-get install kubernetes-client (scripts/setup.sh does)',
  );
  if (r.status !== 0) throw new Error(`kubectl kustomize deploy/kubernetes failed: ${r.stderr}`);
  return r.stdout;
};
/** The Kubernetes version whose API schemas the manifests are checked against (docs/production.md says which clusters). */
const KUBERNETES_VERSION = '1.32.0';
const validate = (file: string) =>
  tool(
    VALIDATE,
    ['-k', KUBERNETES_VERSION, '--strict', file],
    'scripts/setup.sh installs kubernetes-validate into .tools/venv',
  );

const rendered = render();
const objects = parseAllDocuments(rendered).map((d) => d.toJS()) as any[];
const find = (kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name.startsWith(name));
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
};
const podSpecs = () =>
  objects
    .filter((o) => ['Deployment', 'Job'].includes(o.kind))
    .map((o) => ({
      owner: `${o.kind}/${o.metadata.name}`,
      spec: o.spec.template.spec,
      labels: o.spec.template.metadata.labels,
    }));
const containers = () =>
  podSpecs().flatMap(({ owner, spec }) =>
    [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => ({ owner, pod: spec, c })),
  );
const envValue = (c: any, name: string) => c.env?.find((e: any) => e.name === name)?.value;

const configMap = find('ConfigMap', 'opsflow-config');
const rawConfig = parseAllDocuments(configMap.data['opsflow.yaml'])[0].toJS();
const config = parseConfigText(configMap.data['opsflow.yaml'], 'deploy/kubernetes/opsflow.yaml');
const shutdownGraceSeconds = Number(
  /shutdownGraceTime: '(\d+)s'/.exec(readFileSync(join(root, 'src/worker.ts'), 'utf8'))![1],
);

describe('deploy/kubernetes', () => {
  test('every rendered object is valid against the Kubernetes schemas (strict)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-'));
    writeFileSync(join(dir, 'opsflow.yaml'), rendered);
    const r = validate(join(dir, 'opsflow.yaml'));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect((r.stdout.match(/ passed for resource /g) ?? []).length).toBe(objects.length);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort()).toEqual(
      [
        'ConfigMap/opsflow-config',
        'Deployment/opsflow-alerts',
        'Deployment/opsflow-codec',
        'Deployment/opsflow-worker',
        'Job/opsflow-setup',
        'PersistentVolumeClaim/opsflow-backups',
        'PodDisruptionBudget/opsflow-worker',
        'Service/opsflow-alerts',
        'Service/opsflow-codec',
        'Service/postgresql',
        'Service/redis',
        'Service/temporal-frontend',
      ].sort(),
    );
  });

  test('the validator refuses what Kubernetes would: a misspelt field, a replica count that is text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-bad-'));
    for (const [name, bad] of [
      ['typo.yaml', rendered.replace('terminationGracePeriodSeconds: 45', 'terminationGracePeriodSecond: 45')],
      ['text.yaml', rendered.replace(/replicas: 2/, 'replicas: two')],
    ]) {
      expect(bad).not.toBe(rendered);
      writeFileSync(join(dir, name), bad);
      expect({ name, status: validate(join(dir, name)).status }).not.toEqual({ name, status: 0 });
    }
  });

  test('every address in the config and TEMPORAL_ADDRESS is a Service of the manifests, on one of its ports', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    const ports = (name: string): number[] =>
      services.find((s) => s.metadata.name === name)?.spec.ports.map((p: any) => p.port) ?? [];
    const addresses = configAddresses(rawConfig);
    for (const c of containers()) {
      const t = envValue(c.c, 'TEMPORAL_ADDRESS');
      if (t)
        addresses.push({ field: `${c.owner} TEMPORAL_ADDRESS`, host: t.split(':')[0], port: Number(t.split(':')[1]) });
    }
    expect(addresses.length).toBeGreaterThan(5);
    for (const a of addresses)
      expect({ field: a.field, host: a.host, port: a.port, ports: ports(a.host) }).toEqual({
        field: a.field,
        host: a.host,
        port: a.port,
        ports: expect.arrayContaining([a.port]),
      });
  });

  test('each pod gets from the Secret exactly the secrets it uses, by reference, never a value', () => {
    const all = envSecrets(rawConfig);
    const receiver = (config.incident.receiver!.token as { env: string }).env;
    const codecToken = (config.encryption!.codecServer!.token as { env: string }).env;
    const keys = config.encryption!.keys.map((k) => (k.key as { env: string }).env);
    const needs: Record<string, string[]> = {
      worker: all.filter((s) => s !== receiver && s !== codecToken),
      alerts: [receiver, ...keys],
      codec: [codecToken, ...keys],
      'search-attributes': keys,
      schedules: keys,
    };
    expect(
      containers()
        .map(({ c }) => c.name)
        .sort(),
    ).toEqual(Object.keys(needs).sort());
    for (const { c } of containers()) {
      const fromSecret = (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef);
      for (const e of fromSecret)
        expect({ container: c.name, env: e.name, ref: e.valueFrom.secretKeyRef }).toEqual({
          container: c.name,
          env: e.name,
          ref: { name: SECRET, key: e.name },
        });
      expect({ container: c.name, secrets: fromSecret.map((e: any) => e.name).sort() }).toEqual({
        container: c.name,
        secrets: [...needs[c.name]].sort(),
      });
      for (const s of all)
        expect({ container: c.name, literal: envValue(c, s) }).toEqual({ container: c.name, literal: undefined });
      expect(c.envFrom).toBeUndefined();
    }
    // The Secret is made outside git: the manifests reference it and hold no Secret of their own.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test("every command a container runs is a real opsflow command, or the image's worker command", async () => {
    const dockerCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))![1]);
    const commands = containers().map(({ c }) => c.command as string[]);
    expect(commands).toContainEqual(dockerCmd);
    const cli = commands.filter((c) => c[0] === 'opsflow');
    expect(cli.map((c) => c.slice(1).join(' ')).sort()).toEqual([
      'alerts serve',
      'codec serve',
      'schedules apply --prune',
      'search-attributes ensure',
    ]);
    // The CLIs at once: each loads the whole CLI through tsx, tens of seconds on a busy machine.
    const helps = await Promise.all(cli.map((c) => opsflowHelp(c.slice(1))));
    cli.forEach((c, k) =>
      expect({ command: c.join(' '), code: helps[k].code }).toEqual({ command: c.join(' '), code: 0 }),
    );
    for (const { c } of containers())
      expect({ container: c.name, image: c.image }).toEqual({ container: c.name, image: 'opsflow:0.1.0' });
  });

  test('the config is the ConfigMap, mounted where OPSFLOW_CONFIG points', () => {
    for (const { pod, c } of containers()) {
      const path: string = envValue(c, 'OPSFLOW_CONFIG');
      const mount = c.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
      const volume = pod.volumes.find((v: any) => v.name === mount?.name);
      expect({
        container: c.name,
        configMap: volume?.configMap?.name,
        key: path.slice(mount.mountPath.length + 1),
      }).toEqual({
        container: c.name,
        configMap: configMap.metadata.name,
        key: 'opsflow.yaml',
      });
    }
  });

  test('workers: replicas, a disruption budget, a grace period longer than their shutdown grace, probes on the metrics endpoint', () => {
    const d = find('Deployment', 'opsflow-worker');
    const pod = d.spec.template.spec;
    const w = pod.containers[0];
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(shutdownGraceSeconds);
    const pdb = find('PodDisruptionBudget', 'opsflow-worker');
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(envValue(w, 'OPSFLOW_METRICS_HOST')).toBe('0.0.0.0');
    const metricsPort = Number(envValue(w, 'OPSFLOW_METRICS_PORT'));
    const portOf = (p: string | number) =>
      typeof p === 'number' ? p : w.ports.find((x: any) => x.name === p).containerPort;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect({ probe, path: w[probe].httpGet.path, port: portOf(w[probe].httpGet.port) }).toEqual({
        probe,
        path: '/metrics',
        port: metricsPort,
      });
    }
    expect(envValue(w, 'OPSFLOW_REGISTER_SEARCH_ATTRIBUTES')).toBe('false');
    // Backups land on a volume every replica mounts.
    const backups = pod.volumes.find(
      (v: any) => v.name === w.volumeMounts.find((m: any) => m.mountPath === config.backups.opsflow.destination)?.name,
    );
    expect(find('PersistentVolumeClaim', backups.persistentVolumeClaim.claimName).spec.accessModes).toEqual([
      'ReadWriteMany',
    ]);
  });

  test('the receiver and the codec server: Deployments with Services on the ports the config gives, probes', () => {
    for (const [name, port] of [
      ['opsflow-alerts', config.incident.receiver!.port],
      ['opsflow-codec', config.encryption!.codecServer!.port],
    ] as const) {
      const d = find('Deployment', name);
      const s = find('Service', name);
      const c = d.spec.template.spec.containers[0];
      expect(s.spec.selector).toEqual(d.spec.selector.matchLabels);
      expect(d.spec.template.metadata.labels).toMatchObject(s.spec.selector);
      const containerPort = c.ports.find((p: any) => p.name === s.spec.ports[0].targetPort).containerPort;
      expect({ name, port: s.spec.ports[0].port, containerPort }).toEqual({ name, port, containerPort: port });
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
    }
    expect(config.incident.receiver!.host).toBe('0.0.0.0');
    expect(config.encryption!.codecServer!.host).toBe('0.0.0.0');
  });

  test('every pod runs as non-root with resource requests, and cannot gain privileges', () => {
    for (const { owner, spec } of podSpecs()) {
      expect({ owner, nonRoot: spec.securityContext?.runAsNonRoot, uid: spec.securityContext?.runAsUser > 0 }).toEqual({
        owner,
        nonRoot: true,
        uid: true,
      });
      expect({ owner, token: spec.automountServiceAccountToken }).toEqual({ owner, token: false });
    }
    for (const { c } of containers()) {
      expect({
        container: c.name,
        cpu: Boolean(c.resources?.requests?.cpu),
        memory: Boolean(c.resources?.requests?.memory),
      }).toEqual({ container: c.name, cpu: true, memory: true });
      expect({ container: c.name, escalation: c.securityContext?.allowPrivilegeEscalation }).toEqual({
        container: c.name,
        escalation: false,
      });
    }
  });

  test("the Job's schedules are valid against the config: each input parses and names only what the config declares", () => {
    expect(Object.keys(config.schedules ?? {}).sort()).toEqual(['backup-opsflow', 'daily-report', 'health-check']);
    for (const [id, sc] of Object.entries(config.schedules ?? {}))
      expect(scheduleOptions(id, sc, config).scheduleId).toBe(id);
  });

  test('the Job registers the search attributes before it applies the schedules, and fails when either does', () => {
    const job = find('Job', 'opsflow-setup');
    const spec = job.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.command.slice(1, 3).join(' '))).toEqual(['search-attributes ensure']);
    expect(spec.containers.map((c: any) => c.command.slice(1, 3).join(' '))).toEqual(['schedules apply']);
    expect(spec.restartPolicy).toBe('OnFailure');
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';

/** There is no Docker engine here: the compose file is checked for consistency instead of run. */
describe('docker-compose.yml', () => {
  const root = join(__dirname, '../..');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
  const services = compose.services as Record<string, any>;

  test('has the full stack', () => {
    expect(Object.keys(services).sort()).toEqual(['postgresql', 'redis', 'temporal', 'temporal-setup', 'temporal-ui', 'worker']);
  });

  test('Temporal runs on the PostgreSQL service, and the UI and workers point at Temporal', () => {
    const t = services.temporal;
    expect(t.environment.POSTGRES_SEEDS).toBe('postgresql');
    expect(t.environment.POSTGRES_USER).toBe(services.postgresql.environment.POSTGRES_USER);
    expect(t.environment.POSTGRES_PWD).toBe(services.postgresql.environment.POSTGRES_PASSWORD);
    expect(t.depends_on.postgresql.condition).toBe('service_healthy');
    expect(t.ports).toContain('7233:7233');
    for (const name of ['temporal-ui', 'worker', 'temporal-setup']) {
      expect(services[name].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
  });

  test('no secret is written in the file', () => {
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(text).toContain('${POSTGRES_PASSWORD:?');
    expect(text).not.toMatch(/PASSWORD:\s*['"]?[A-Za-z0-9]{4,}['"]?\s*$/m);
  });

  test('the worker is built here, scales by replicas, and reads the config it mounts', () => {
    const w = services.worker;
    expect(w.build).toBe('.');
    expect(w.deploy.replicas).toMatch(/\$\{OPSFLOW_WORKER_REPLICAS:-\d+\}/);
    const mount = (w.volumes as string[]).map((v) => v.split(':'));
    expect(mount.some(([, target]) => target === w.environment.OPSFLOW_CONFIG)).toBe(true);
    const [source] = mount[0];
    expect(readFileSync(join(root, source), 'utf8')).toContain('schedules:');
    expect(w.depends_on['temporal-setup'].condition).toBe('service_completed_successfully');
  });

  test('the setup service registers exactly opsflow\'s search attributes', () => {
    const cmd = (services['temporal-setup'].command as string[]).join(' ');
    const names = /for sa in ([^;]+);/.exec(cmd)![1].trim().split(/\s+/);
    expect(names.sort()).toEqual(opsflowSearchAttributes.map((k) => k.name).sort());
  });

  test('the Dockerfile prebundles workflows and runs the worker with the env compose sets', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/bundle-workflows\.ts \/app\/dist\/workflow-bundle\.js/);
    expect(dockerfile).toContain('OPSFLOW_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js');
    expect(dockerfile).toMatch(/CMD \["node", "--import", "tsx", "src\/worker\.ts"\]/);
    expect(dockerfile).toContain(`OPSFLOW_CONFIG=${services.worker.environment.OPSFLOW_CONFIG}`);
  });
});

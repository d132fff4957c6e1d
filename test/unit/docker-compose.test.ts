import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readConfigFile } from '../../src/config/load';
import {
  configAddresses,
  devStackVersions,
  envSecrets,
  hostExecutables,
  imageExecutables,
  opsflowHelp,
  root,
  spawnedExecutables,
} from '../helpers/deploy-checks';

/**
 * There is no Docker engine here: deploy/compose is checked for what makes it run rather than run.
 * The opsflow config it mounts must send opsflow to compose services (not to the container's own
 * loopback), every secret the config names must reach the services that read it, every command
 * must be a real opsflow command, and the image must carry what the activities execute.
 */
const dir = join(root, 'deploy/compose');
const composeText = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true });
const services = compose.services as Record<string, any>;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const OPSFLOW_IMAGE = 'opsflow:0.1.0';
const opsflowServices = Object.keys(services).filter((n) => services[n].image === OPSFLOW_IMAGE);

describe('the root docker-compose.yml', () => {
  test('brings in deploy/compose as the one stack, so `docker compose up` works from the checkout', () => {
    const rootCompose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
    expect(rootCompose).toEqual({ include: [{ path: 'deploy/compose/docker-compose.yml' }] });
    expect(existsSync(join(root, rootCompose.include[0].path))).toBe(true);
  });
});

/** The mounted opsflow config, as the services see it. */
const configMount = (volumes: string[]) =>
  volumes.map((v) => v.split(':')).find(([, target]) => target === '/etc/opsflow/opsflow.yaml');
const configPath = join(dir, configMount(services.worker.volumes)![0]);
const rawConfig = parse(readFileSync(configPath, 'utf8'));
const config = readConfigFile(configPath);

/** KEY=value lines of an env file's committed example. */
const envExample = (file: string) =>
  Object.fromEntries(
    readFileSync(join(dir, `${file}.example`), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
/** The variables a service gets: its environment plus its env_files (their examples). */
const envOf = (name: string): Set<string> => {
  const s = services[name];
  const files: string[] = s.env_file ?? [];
  return new Set([...Object.keys(s.environment ?? {}), ...files.flatMap((f) => Object.keys(envExample(f)))]);
};
/** What each service listens on inside the compose network. */
const listens = (name: string): number[] => {
  const image: string = services[name].image;
  if (image.startsWith('postgres:')) return [5432];
  if (image.startsWith('redis:')) return [6379];
  if (image.startsWith('temporalio/server:')) return [7233];
  if (image.startsWith('temporalio/ui:')) return [8080];
  if (name === 'opsflow-alerts') return [config.incident.receiver!.port];
  if (name === 'opsflow-codec') return [config.encryption!.codecServer!.port];
  if (name === 'worker') return [9464];
  return [];
};

describe('deploy/compose', () => {
  test('has the full stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'opsflow-alerts',
        'opsflow-codec',
        'opsflow-schedules',
        'opsflow-setup',
        'postgresql',
        'redis',
        'temporal',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
  });

  test('every address in the opsflow config is a compose service, on a port that service listens on', () => {
    const addresses = configAddresses(rawConfig);
    expect(addresses.map((a) => a.field)).toEqual(
      expect.arrayContaining(['postgres.opsflow', 'redis.cache', 'http.temporal-ui']),
    );
    for (const a of addresses) {
      expect({ field: a.field, service: a.host in services ? a.host : `no compose service "${a.host}"` }).toEqual({
        field: a.field,
        service: a.host,
      });
      expect({ field: a.field, port: a.port, listens: listens(a.host) }).toEqual({
        field: a.field,
        port: a.port,
        listens: expect.arrayContaining([a.port]),
      });
    }
  });

  test("the receiver and the codec server listen on the container's network and are published; the worker's metrics are exposed", () => {
    const r = config.incident.receiver!;
    const c = config.encryption!.codecServer!;
    expect([r.host, c.host]).toEqual(['0.0.0.0', '0.0.0.0']);
    expect(services['opsflow-alerts'].ports).toContain(`${r.port}:${r.port}`);
    expect(services['opsflow-codec'].ports).toContain(`${c.port}:${c.port}`);
    // The Web UI's origin as the browser sees it is the one the codec server answers.
    const uiPort = (services['temporal-ui'].ports as string[])[0].split(':')[0];
    expect(c.origins).toContain(`http://localhost:${uiPort}`);
    expect(services.worker.environment).toMatchObject({
      OPSFLOW_METRICS_HOST: '0.0.0.0',
      OPSFLOW_METRICS_PORT: '9464',
    });
    expect(services.worker.expose).toContain('9464');
  });

  test("the PostgreSQL service makes opsflow's own database and user, with the password the config reads", () => {
    const pg = rawConfig.postgres.opsflow;
    const init = readFileSync(join(dir, 'postgres-init/10-databases.sh'), 'utf8');
    expect(services.postgresql.volumes).toContain('./postgres-init:/docker-entrypoint-initdb.d:ro');
    expect(init).toContain(`OPSFLOW_DB_USER=\${OPSFLOW_DB_USER:-${pg.user}}`);
    expect(init).toContain(`OPSFLOW_DB_NAME=\${OPSFLOW_DB_NAME:-${pg.database}}`);
    expect(init).toContain(`\${${pg.password.env}:?`);
    expect(envOf('postgresql').has(pg.password.env)).toBe(true);
    // every store lives there
    for (const store of [config.incident.store, config.cutover.store, config.baseline.store, config.dailyReport.store])
      expect(store?.postgres).toBe('opsflow');
  });

  test('every { env: X } secret of the config reaches every opsflow service by env_file, and only names are committed', () => {
    const secrets = envSecrets(rawConfig);
    expect(secrets).toEqual([
      'OPSFLOW_ALERT_TOKEN',
      'OPSFLOW_CODEC_TOKEN',
      'OPSFLOW_DB_PASSWORD',
      'OPSFLOW_KEY_K1',
      'REDIS_PASSWORD',
      'SLACK_WEBHOOK_URL',
    ]);
    expect(opsflowServices.sort()).toEqual([
      'opsflow-alerts',
      'opsflow-codec',
      'opsflow-schedules',
      'opsflow-setup',
      'worker',
    ]);
    for (const name of opsflowServices) {
      expect({ name, env_file: services[name].env_file }).toEqual({ name, env_file: ['opsflow.env'] });
      for (const s of secrets)
        expect({ name, secret: s, passed: envOf(name).has(s) }).toEqual({ name, secret: s, passed: true });
    }
    for (const file of ['opsflow.env', 'temporal.env']) {
      for (const [k, v] of Object.entries(envExample(file))) expect({ file, k, v }).toEqual({ file, k, v: '' });
    }
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toMatch(/^deploy\/compose\/\*\.env$/m);
    // …nor into the image: the build context is the repository, and the secret files are in it.
    expect(readFileSync(join(root, '.dockerignore'), 'utf8')).toMatch(/^deploy\/compose\/\*\.env$/m);
    // Redis's password is the one the config's redis target sends.
    expect(rawConfig.redis.cache.password.env).toBe('REDIS_PASSWORD');
    expect(services.redis.command.join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"');
    expect(envOf('redis').has('REDIS_PASSWORD')).toBe(true);
  });

  test('Temporal runs on the PostgreSQL service with the password from temporal.env', () => {
    expect(Object.keys(envExample('temporal.env')).sort()).toEqual(['POSTGRES_PASSWORD', 'POSTGRES_PWD']);
    expect(envOf('postgresql').has('POSTGRES_PASSWORD')).toBe(true);
    for (const name of ['temporal', 'temporal-schema']) {
      expect(envOf(name).has('POSTGRES_PWD')).toBe(true);
      expect(services[name].environment.POSTGRES_USER).toBe(services.postgresql.environment.POSTGRES_USER);
    }
    expect(services.temporal.environment.POSTGRES_SEEDS).toBe('postgresql');
    for (const name of ['temporal-ui', 'temporal-setup', ...opsflowServices])
      expect(services[name].environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  test('every command a service runs is a real opsflow command', async () => {
    const commands = opsflowServices.map((n) => services[n].command as string[]);
    expect(
      commands
        .filter((c) => c[0] === 'opsflow')
        .map((c) => c.slice(1).join(' '))
        .sort(),
    ).toEqual(['alerts serve', 'codec serve', 'schedules apply --prune', 'search-attributes ensure']);
    // The CLIs at once: each loads the whole CLI through tsx, tens of seconds on a busy machine.
    const opsflowCommands = commands.filter((c) => c[0] === 'opsflow');
    const helps = await Promise.all(opsflowCommands.map((c) => opsflowHelp(c.slice(1))));
    opsflowCommands.forEach((c, k) => {
      expect({ command: c.join(' '), code: helps[k].code }).toEqual({ command: c.join(' '), code: 0 });
      expect(helps[k].out).toContain(`Usage: opsflow ${c.filter((a, i) => i > 0 && !a.startsWith('-')).join(' ')}`);
    });
    // The worker runs the image's CMD, a file that exists.
    expect(services.worker.command).toEqual(JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]));
    expect(existsSync(join(root, services.worker.command[3]))).toBe(true);
    // The Dockerfile's `opsflow` is the CLI's entry point.
    expect(dockerfile).toContain('/app/src/client/cli.ts');
    expect(existsSync(join(root, 'src/client/cli.ts'))).toBe(true);
  });

  test('the schema and namespace steps fail loudly: nothing is run with || true', () => {
    expect(composeText).not.toMatch(/\|\|\s*true/);
    expect(readFileSync(join(dir, 'temporal-schema.sh'), 'utf8')).toMatch(/^set -eu$/m);
    expect(readFileSync(join(dir, 'temporal-schema.sh'), 'utf8')).not.toMatch(/\|\|\s*true/);
    expect(services['temporal-schema'].volumes).toContain('./temporal-schema.sh:/scripts/temporal-schema.sh:ro');
  });

  test('every stateful service keeps its data in a named volume', () => {
    const declared = Object.keys(compose.volumes);
    const named = (name: string, target: string) =>
      (services[name].volumes as string[])
        .map((v) => v.split(':'))
        .find(([source, t]) => t === target && declared.includes(source));
    expect(named('postgresql', '/var/lib/postgresql/data')).toBeDefined();
    expect(named('redis', '/data')).toBeDefined();
    expect(services.redis.command.join(' ')).toContain('--appendonly yes');
    for (const set of Object.values(config.backups)) expect(named('worker', set.destination)).toBeDefined();
    expect(named('worker', '/var/cache/opsflow')).toBeDefined();
  });

  test('health checks, and depends_on in an order that can start', () => {
    const longRunning = Object.keys(services).filter((n) => services[n].restart !== 'no');
    const oneShot = Object.keys(services).filter((n) => services[n].restart === 'no');
    expect(oneShot.sort()).toEqual(['opsflow-schedules', 'opsflow-setup', 'temporal-schema', 'temporal-setup']);
    for (const n of longRunning.filter((n) => n !== 'temporal-ui'))
      expect({ n, healthcheck: Boolean(services[n].healthcheck) }).toEqual({ n, healthcheck: true });
    const deps = (n: string): Record<string, { condition: string }> => services[n].depends_on ?? {};
    for (const n of Object.keys(services))
      for (const [dep, { condition }] of Object.entries(deps(n))) {
        expect({ n, dep, exists: dep in services }).toEqual({ n, dep, exists: true });
        if (condition === 'service_healthy')
          expect({ n, dep, healthcheck: Boolean(services[dep].healthcheck) }).toEqual({ n, dep, healthcheck: true });
        if (condition === 'service_completed_successfully')
          expect({ n, dep, oneShot: oneShot.includes(dep) }).toEqual({ n, dep, oneShot: true });
      }
    // Start order: a topological sort exists (no cycle), and these come before those.
    const order: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (path.includes(n)) throw new Error(`depends_on cycle: ${[...path, n].join(' -> ')}`);
      if (order.includes(n)) return;
      Object.keys(deps(n)).forEach((d) => visit(d, [...path, n]));
      order.push(n);
    };
    Object.keys(services).forEach((n) => visit(n, []));
    const before = (a: string, b: string) =>
      expect({ [a]: order.indexOf(a) < order.indexOf(b) }).toEqual({ [a]: true });
    before('temporal-schema', 'temporal');
    before('temporal-setup', 'opsflow-setup');
    before('opsflow-setup', 'worker');
    before('opsflow-setup', 'opsflow-schedules');
    before('postgresql', 'worker');
    before('redis', 'worker');
    expect(deps('worker')).toMatchObject({
      postgresql: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      'opsflow-setup': { condition: 'service_completed_successfully' },
    });
    // The worker registers nothing itself: opsflow-setup did.
    expect(services.worker.environment.OPSFLOW_REGISTER_SEARCH_ATTRIBUTES).toBe('false');
  });

  test('workers scale by replicas and stop within their shutdown grace', () => {
    expect(services.worker.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(parseInt(services.worker.stop_grace_period, 10)).toBeGreaterThan(30);
    expect(composeText).toContain('--scale worker=');
  });

  test("images are pinned, Temporal at the dev server's versions, pg_dump at the PostgreSQL service's major", () => {
    for (const [n, s] of Object.entries(services))
      expect({ n, image: s.image }).toEqual({ n, image: expect.stringMatching(/^[\w./-]+:\d[\w.-]*$/) });
    const dev = devStackVersions();
    expect(services.temporal.image).toBe(`temporalio/server:${dev.server}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${dev.server}`);
    expect(services['temporal-setup'].image).toBe(`temporalio/admin-tools:${dev.server}`);
    expect(services['temporal-ui'].image).toBe(`temporalio/ui:${dev.ui}`);
    const pgMajor = /^postgres:(\d+)/.exec(services.postgresql.image)![1];
    expect(services.worker.build.args.PG_MAJOR).toBe(pgMajor);
    expect(imageExecutables(dockerfile).pgMajor).toBe(pgMajor);
  });

  test('the image carries every executable the activities spawn, or the docs say it runs on the managed hosts', () => {
    const spawned = spawnedExecutables();
    expect(spawned).toEqual(expect.arrayContaining(['git', 'pg_dump', 'pg_restore', 'psql', 'tar', 'systemctl']));
    const inImage = imageExecutables(dockerfile).executables;
    const onHosts = hostExecutables();
    for (const exe of spawned)
      expect({ exe, where: inImage.includes(exe) ? 'image' : onHosts.includes(exe) ? 'hosts' : 'nowhere' }).not.toEqual(
        { exe, where: 'nowhere' },
      );
    // git over SSH needs the ssh client.
    expect(inImage).toContain('ssh');
  });

  test('the image bundles workflows for encryption when the config turns it on, and runs with the env compose sets', () => {
    expect(config.encryption).toBeDefined();
    expect(services.worker.build.args.BUNDLE_FLAGS).toBe('--encrypted');
    expect(dockerfile).toContain(
      'RUN npx tsx scripts/bundle-workflows.ts ${BUNDLE_FLAGS} /app/dist/workflow-bundle.js',
    );
    expect(readFileSync(join(root, 'scripts/bundle-workflows.ts'), 'utf8')).toContain("args.includes('--encrypted')");
    expect(dockerfile).toContain('OPSFLOW_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js');
    expect(dockerfile).toContain(`OPSFLOW_CONFIG=${services.worker.environment.OPSFLOW_CONFIG}`);
    expect(services.worker.build.context).toBe('../..');
  });
});

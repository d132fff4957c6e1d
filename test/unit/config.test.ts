import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConfig, findConfig, loadConfig, parseConfigText } from '../../src/config/load';
import { resolveSecret } from '../../src/config/secrets';
import { ValidationError } from '../../src/config/errors';

describe('operator config', () => {
  test('a YAML file with targets, notifiers and secrets by reference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'opsflow.config.yaml');
    writeFileSync(
      file,
      [
        'http:',
        '  web: { url: "http://127.0.0.1:8080/health" }',
        'postgres:',
        '  primary: { database: app, password: { env: PG_PASSWORD } }',
        'notifiers:',
        '  ops: { type: webhook, url: "http://127.0.0.1:9000/hook" }',
        'healthCheckNotify: [ops]',
      ].join('\n'),
    );
    const cfg = loadConfig(file, {});
    expect(cfg.http.web.timeoutMs).toBe(10_000);
    expect(cfg.postgres.primary).toMatchObject({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: { env: 'PG_PASSWORD' },
    });
    expect(cfg.thresholds.diskPercent.critical).toBe(85);
  });

  test('every bad field is named in the error', () => {
    const bad = {
      http: { web: { url: 'ftp://x' } },
      postgres: { primary: { port: 70000 } },
      notifiers: { ops: { type: 'carrier-pigeon' } },
      healthCheckNotify: ['nobody'],
      surprise: true,
    };
    let err: ValidationError | undefined;
    try {
      parseConfigText(JSON.stringify(bad), 'bad.json');
    } catch (e) {
      err = e as ValidationError;
    }
    expect(err).toBeInstanceOf(ValidationError);
    for (const field of ['http.web.url', 'postgres.primary.port', 'postgres.primary.database', 'notifiers.ops.type']) {
      expect(err!.message).toContain(field);
    }
    expect(err!.message).toMatch(/surprise/);
  });

  test('a notifier list naming an unknown notifier is refused', () => {
    expect(() => parseConfigText(JSON.stringify({ healthCheckNotify: ['nobody'] }), 'c.json')).toThrow(
      /healthCheckNotify\.0: unknown notifier "nobody"/,
    );
  });

  test('unparseable text and unreadable files are named', () => {
    expect(() => parseConfigText('{ nope', 'c.json')).toThrow(/invalid config c\.json:\ncannot parse/);
    expect(() => loadConfig('/nonexistent/opsflow.yaml', {})).toThrow(/cannot read/);
  });

  test('a secret written as its value is told the form a secret takes, in every secret field', () => {
    const plain = 'written-in-the-file';
    const cfg = {
      postgres: { p: { database: 'app', password: plain } },
      redis: { r: { password: plain } },
      notifiers: {
        hook: { type: 'webhook', url: 'http://127.0.0.1:9000/hook', token: plain },
        pd: { type: 'pagerduty', routingKey: plain },
      },
      loadBalancers: { api: { type: 'http-api', url: 'http://127.0.0.1:9001', token: plain } },
    };
    let err: ValidationError | undefined;
    try {
      parseConfigText(JSON.stringify(cfg), 'c.json');
    } catch (e) {
      err = e as ValidationError;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const lines = err!.details.split('\n');
    for (const field of [
      'postgres.p.password',
      'redis.r.password',
      'notifiers.hook.token',
      'notifiers.pd.routingKey',
      'loadBalancers.api.token',
    ]) {
      expect(lines).toContain(`${field}: a secret is written as { env: NAME } or { file: /path }, never as its value`);
    }
    expect(err!.message).not.toContain(plain);
    // A reference with a bad env name keeps its own, narrower message.
    expect(() =>
      parseConfigText(
        JSON.stringify({ postgres: { p: { database: 'app', password: { env: 'not a name' } } } }),
        'c.json',
      ),
    ).toThrow('postgres.p.password.env: an env var name');
  });

  test('secrets resolve from env or file and name the field when missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sec-'));
    writeFileSync(join(dir, 'token'), 'abc\n');
    expect(resolveSecret({ file: join(dir, 'token') }, 'x.token')).toBe('abc');
    expect(resolveSecret({ env: 'T' }, 'x.token', { T: 'v' })).toBe('v');
    expect(() => resolveSecret({ env: 'T' }, 'notifiers.ops.token', {})).toThrow(
      'notifiers.ops.token: env var T is not set',
    );
  });
});

describe('finding the config file (worker, npm run dev and the CLI alike)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'find-'));
  const empty = mkdtempSync(join(tmpdir(), 'find-empty-'));
  writeFileSync(join(dir, 'opsflow.config.yaml'), 'http: {}\n');

  test('a path given wins, then $OPSFLOW_CONFIG, then ./opsflow.config.yaml, else none', () => {
    expect(findConfig('x.yaml', { OPSFLOW_CONFIG: 'y.yaml' }, dir)).toEqual({
      path: join(dir, 'x.yaml'),
      how: 'given',
    });
    expect(findConfig(undefined, { OPSFLOW_CONFIG: 'y.yaml' }, dir)).toEqual({
      path: join(dir, 'y.yaml'),
      how: 'OPSFLOW_CONFIG',
    });
    expect(findConfig(undefined, {}, dir)).toEqual({
      path: join(dir, 'opsflow.config.yaml'),
      how: 'working directory',
    });
    expect(findConfig(undefined, {}, empty)).toEqual({ how: 'none' });
  });

  test('the start-up description names the file and what it holds, or says what no file means', () => {
    const cfg = parseConfigText(
      JSON.stringify({
        http: { web: { url: 'http://127.0.0.1:1/' } },
        notifiers: { ops: { type: 'webhook', url: 'http://127.0.0.1:2/' } },
      }),
      'c.json',
    );
    expect(describeConfig({ path: '/etc/opsflow.yaml', how: 'OPSFLOW_CONFIG' }, cfg)).toBe(
      'config /etc/opsflow.yaml (from $OPSFLOW_CONFIG): http 1, notifiers 1',
    );
    expect(describeConfig({ how: 'none' }, parseConfigText('{}', 'e.json'), '/srv')).toMatch(
      /^no config file found \(no path given, \$OPSFLOW_CONFIG unset, no opsflow\.config\.yaml in \/srv\): running with an empty config, so no targets are configured/,
    );
  });
});

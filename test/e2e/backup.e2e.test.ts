import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Stack } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { PgScratch } from '../helpers/pg-scratch';
import { pgConnection, requirePostgres } from '../helpers/services';
import { recordHistory } from '../helpers/histories';
import { backupWorkflow, healthCheckWorkflow } from '../../src/workflows';
import { statusQuery } from '../../src/workflows/backup/messages';
import { createActivities } from '../../src/activities';
import { parseConfigText } from '../../src/config/load';
import { copyStamp, type ArtifactManifest } from '../../src/domain/backup/manifest';
import type { BackupResult } from '../../src/domain/backup/report';
import { OpsflowPhase } from '../../src/domain/search-attributes';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const DAY = 86_400_000;

/** Makes a copy `days` old: a copy's age is its run's start, its folder's name. */
function age(dest: string, copy: string, days: number): string {
  const older = copyStamp(new Date(Date.now() - days * DAY));
  renameSync(join(dest, copy), join(dest, older));
  return older;
}

/**
 * Backups proven by restore drills, end to end: the dev server, an opsflow worker, the machine's
 * PostgreSQL with a database of several tables (150 000 rows in one), a real app tree and config
 * files on disk, and a webhook receiver standing in for Slack.
 */
describe('backupWorkflow end to end', () => {
  const scratch = new PgScratch('opsflow_test_backup');
  const root = mkdtempSync(join(tmpdir(), 'opsflow-backup-'));
  const receiver = new HttpReceiver();
  let stack: Stack;
  let appDb = '';
  let config: any;
  const dest = (name: string) => join(root, `dest-${name}`);

  beforeAll(async () => {
    await requirePostgres();
    appDb = await scratch.database();
    await scratch.query(
      `CREATE TABLE big (id bigserial PRIMARY KEY, payload text NOT NULL, amount numeric(12,2))`,
      [],
      appDb,
    );
    await scratch.query(
      `INSERT INTO big (payload, amount) SELECT md5(g::text), g / 7.0 FROM generate_series(1, 150000) g`,
      [],
      appDb,
    );
    await scratch.query(`CREATE TABLE customers (id int PRIMARY KEY, name text, tags text[], meta jsonb)`, [], appDb);
    await scratch.query(
      `INSERT INTO customers SELECT g, 'c' || g, ARRAY['a', NULL], jsonb_build_object('n', g) FROM generate_series(1, 500) g`,
      [],
      appDb,
    );
    await scratch.query(
      `CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int, customer int REFERENCES customers, note text); INSERT INTO billing.invoices VALUES (1, 1, NULL), (1, 1, NULL), (2, 2, 'x|y')`,
      [],
      appDb,
    );
    await scratch.query(`CREATE TABLE empty_table (id int)`, [], appDb);

    const app = join(root, 'app');
    for (const d of ['src', 'node_modules/lib', '.cache']) mkdirSync(join(app, d), { recursive: true });
    writeFileSync(join(app, 'src/main.js'), 'console.log(1)\n');
    writeFileSync(join(app, 'node_modules/lib/index.js'), 'x');
    writeFileSync(join(app, '.cache/blob'), 'x');
    writeFileSync(join(app, 'server.log'), 'x');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/app.conf'), 'port=80\n');
    writeFileSync(join(root, 'etc/nginx.conf'), 'worker_processes 1;\n');

    await receiver.start();
    const set = (name: string, extra: object) => ({
      databases: ['app'],
      destination: dest(name),
      minVerifiedCopies: 1,
      notify: ['ops'],
      ...extra,
    });
    config = {
      postgres: {
        app: { ...pgConnection, database: appDb },
        missing: { ...pgConnection, database: 'opsflow_no_such_database' },
      },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      backups: {
        nightly: set('nightly', {
          appTree: { path: app },
          configFiles: [join(root, 'etc/app.conf'), join(root, 'etc/nginx.conf')],
        }),
        plain: set('plain', { format: 'sql.gz' }),
        corrupt: set('corrupt', {}),
        broken: set('broken', {
          databases: ['missing'],
          configFiles: [join(root, 'etc/app.conf'), join(root, 'etc/gone.conf')],
        }),
      },
    };
    stack = await Stack.start();
    await stack.startWorker(config);
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver.stop();
    await scratch.drop();
  });

  const messages = (set: string) => receiver.requests.filter((r) => r.json?.details?.set === set).map((r) => r.json);
  // This file's drills only (target `app`): other files' drills run beside it, two files at a time.
  const drillDatabases = async () =>
    (await scratch.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'opsflow_drill_%'`))
      .map((r) => r.datname)
      .filter((n) => /^opsflow_drill_\d{8}t\d{6}z_app$/.test(n));

  test('nightly: dump, tars, sha256 manifests; the drill restores and matches though rows are written meanwhile; the report is sent', async () => {
    const writer = await scratch.client(appDb);
    const before = Number((await scratch.query<{ n: string }>('SELECT count(*) AS n FROM big', [], appDb))[0].n);
    let writing = true;
    // Rows keep arriving while the backup runs: they must be in neither the dump nor its manifest.
    const writes = (async () => {
      for (let i = 0; writing && i < 100_000; i++)
        await writer.query(`INSERT INTO big (payload, amount) VALUES ('during', 1)`);
    })();
    const handle = await stack.client.workflow.start(backupWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'backup-nightly-e2e',
      args: [{ set: 'nightly' }],
    });
    let result: BackupResult;
    try {
      result = await handle.result();
    } finally {
      writing = false;
      await writes;
    }
    const after = Number((await scratch.query<{ n: string }>('SELECT count(*) AS n FROM big', [], appDb))[0].n);

    const dir = join(dest('nightly'), result.copy);
    expect(result.drill).toBe('passed');
    expect(result.failures).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(
      // The sha256 cache is retention's reading of each verified file (the copy counts only while it matches).
      ['app.tar.gz', 'config.tar.gz', 'db-app.dump']
        .flatMap((f) => [f, `${f}.manifest.json`, `${f}.verified.json`, `${f}.sha256-cache.json`])
        .sort(),
    );
    for (const m of result.artifacts) {
      expect(JSON.parse(readFileSync(join(dir, `${m.file}.manifest.json`), 'utf8'))).toEqual(m);
      expect(sha256(join(dir, m.file))).toBe(m.sha256);
    }
    const dump = result.artifacts.find((a) => a.kind === 'postgres') as ArtifactManifest;
    expect(Object.keys(dump.database!.tables).sort()).toEqual([
      'billing.invoices',
      'public.big',
      'public.customers',
      'public.empty_table',
    ]);
    const dumped = dump.database!.tables['public.big'].rows;
    expect(before).toBeGreaterThanOrEqual(150_000);
    expect(dumped).toBeGreaterThan(before); // written after the run began, before its snapshot
    expect(after).toBeGreaterThan(dumped); // written after the snapshot: not in the dump, and the drill still matched
    expect(result.drills).toEqual([expect.objectContaining({ database: 'app', tables: 4, rows: dumped + 503 })]);
    expect(result.drills[0].restoreSeconds).toBeGreaterThan(0);

    const appFiles = execFileSync('tar', ['-tzf', join(dir, 'app.tar.gz')], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(appFiles).toContain('./app/src/main.js');
    expect(appFiles.filter((f) => /node_modules|\.cache|\.log$/.test(f))).toEqual([]);
    expect(
      execFileSync('tar', ['-tzf', join(dir, 'config.tar.gz')], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual([join(root, 'etc/app.conf'), join(root, 'etc/nginx.conf')].map((p) => `.${p}`).sort());
    expect(await drillDatabases()).toEqual([]);

    const sent = messages('nightly');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ severity: 'info', title: 'Backup nightly verified' });
    expect(sent[0].text).toContain(`- restore drill app: 4 tables, ${dumped + 503} rows match; restored in`);
    expect(sent[0].text).toMatch(/- retention: nothing deleted; 1 copy \(1 verified\), [\d.]+ MB in total/);
    expect(await handle.query(statusQuery)).toMatchObject({ phase: 'done', notified: ['ops'] });
    expect((await handle.describe()).typedSearchAttributes.get(OpsflowPhase)).toBe('done');
    recordHistory(stack.temporalAddress(), 'backup-nightly-e2e', 'backup-nightly-verified');
  });

  test("the health check reads the age of each set's latest verified backup: the nightly copy just made is healthy, a set never backed up is critical", async () => {
    const report = await stack.client.workflow.execute(healthCheckWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'backup-e2e-health',
      args: [
        {
          targets: {
            backups: ['nightly', 'broken'],
            http: [],
            postgres: [],
            redis: [],
            hosts: [],
            systemd: [],
            resources: false,
          },
        },
      ],
    });
    const byTarget = Object.fromEntries(report.checks.map((c) => [c.target, c]));
    expect(byTarget.nightly).toMatchObject({ kind: 'backup', status: 'healthy', unit: 'h' });
    expect(byTarget.nightly.value).toBeLessThan(1);
    expect(byTarget.broken).toMatchObject({
      kind: 'backup',
      status: 'critical',
      message: 'no verified backup of set broken',
    });
    expect(report.summary).toBe('1/2 healthy');
    // The backup-age checks' patch is retired (deprecated): this run's marker says so, and the
    // history recorded before the retirement (its marker not deprecated) replays on the same code.
    recordHistory(stack.temporalAddress(), 'backup-e2e-health', 'health-check-backup-age');
  });

  test("the runbook's .sql.gz format is restored by psql in the drill", async () => {
    const result = await stack.client.workflow.execute(backupWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'backup-plain-e2e',
      args: [{ set: 'plain' }],
    });
    expect(result.artifacts.map((a) => a.file)).toEqual(['db-app.sql.gz']);
    expect(result.drills).toEqual([expect.objectContaining({ database: 'app', tables: 4 })]);
    expect(
      execFileSync('sh', ['-c', `gzip -dc '${join(dest('plain'), result.copy, 'db-app.sql.gz')}' | head -c 2000`], {
        encoding: 'utf8',
      }),
    ).toContain('PostgreSQL database dump');
  });

  test('a dump corrupted on disk after it was written fails the drill and alerts; retention drops an old copy but keeps the last verified one', async () => {
    const first = await stack.client.workflow.execute(backupWorkflow, {
      taskQueue: 'opsflow',
      workflowId: 'backup-corrupt-first',
      args: [{ set: 'corrupt' }],
    });
    const firstCopy = age(dest('corrupt'), first.copy, 60);
    const verified = join(dest('corrupt'), firstCopy);
    const stale = join(dest('corrupt'), '20250101T000000Z');
    mkdirSync(stale);
    writeFileSync(join(stale, 'db-app.dump'), 'old');
    writeFileSync(
      join(stale, 'db-app.dump.manifest.json'),
      JSON.stringify({ kind: 'postgres', file: 'db-app.dump', bytes: 3, sha256: sha256(join(stale, 'db-app.dump')) }),
    );

    // The real activities, with the dump's bytes changed on disk once it is written; the worker is
    // the stack's (in the encrypted mode a plain one could not decode the run's input).
    const real = createActivities(parseConfigText(JSON.stringify(config), 'c.json'));
    const corrupting = await stack.createWorker(config, {
      taskQueue: 'backup-corrupting',
      activities: {
        backupDatabase: async (input: Parameters<typeof real.backupDatabase>[0]) => {
          const m = await real.backupDatabase(input);
          const fd = openSync(join(dest('corrupt'), input.copy, m.file), 'r+');
          writeSync(fd, Buffer.from('XXXX'), 0, 4, Math.floor(m.bytes / 2));
          closeSync(fd);
          return m;
        },
      },
    });
    const run = corrupting.runUntil(
      stack.client.workflow
        .start(backupWorkflow, {
          taskQueue: 'backup-corrupting',
          workflowId: 'backup-corrupt-second',
          args: [{ set: 'corrupt' }],
        })
        .then((handle) => stack.result(handle)),
    );
    const err = await run.catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /^backup corrupt \d{8}T\d{6}Z failed: restore drill app: db-app\.dump: sha256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64}: the dump changed after it was written$/,
    );

    const alert = messages('corrupt').find((m) => m.severity === 'critical');
    expect(alert).toMatchObject({ title: 'Backup corrupt FAILED (1 failure)' });
    expect(alert.text).toMatch(/- restore drill app: db-app\.dump: sha256 .* the dump changed after it was written/);
    expect(alert.text).toContain('- retention: deleted 20250101T000000Z; 2 copies (1 verified)');
    expect(alert.text).toContain(`  - ${firstCopy}: older than 30 days, kept as one of the last 1 verified copies`);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(verified)).toContain('db-app.dump.verified.json');
    expect(sha256(join(verified, 'db-app.dump'))).toBe(first.artifacts[0].sha256);
    expect(await drillDatabases()).toEqual([]);
  });

  test('a failing pg_dump (a database that does not exist) and a missing config file are both reported; the run fails', async () => {
    const err = await stack.client.workflow
      .execute(backupWorkflow, { taskQueue: 'opsflow', workflowId: 'backup-broken-e2e', args: [{ set: 'broken' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause.message).toMatch(
      /failed: database missing: pg_dump of missing: backups\.broken\.databases "missing" \(postgres\.missing\): database "opsflow_no_such_database" does not exist; config files: tar of the config files exited with 2: .*gone\.conf: Cannot stat: No such file or directory/,
    );
    const alert = messages('broken');
    expect(alert).toHaveLength(1);
    expect(alert[0]).toMatchObject({ severity: 'critical', title: 'Backup broken FAILED (2 failures)' });
    expect(alert[0].text).toContain(
      '- database missing: pg_dump of missing: backups.broken.databases "missing" (postgres.missing): database "opsflow_no_such_database" does not exist',
    );
    expect(alert[0].text).toMatch(/- config files: tar of the config files exited with 2: .*gone\.conf: Cannot stat/);
    expect(
      (await stack.client.workflow.getHandle('backup-broken-e2e').describe()).typedSearchAttributes.get(OpsflowPhase),
    ).toBe('failed');
    // Nothing finished: the run's folder is removed, and no reader counts it as a copy.
    expect(alert[0].text).toMatch(
      /- retention: nothing deleted; 0 copies \(0 verified\), 0\.0 MB in total\n {2}- \d{8}T\d{6}Z: removed, no finished artifact in it/,
    );
    expect(readdirSync(dest('broken'))).toEqual([]);
  });
});

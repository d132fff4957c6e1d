import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Stack, waitFor, writeConfig } from '../helpers/stack';
import { workflowBundle } from '../helpers/temporal';
import { pgConnection, requirePostgres } from '../helpers/services';
import { PgScratch } from '../helpers/pg-scratch';
import { HttpReceiver } from '../helpers/http-receiver';
import { dumpWaiting, holdDumps, seedBackupDatabase } from '../helpers/backup-fixtures';
import type { BackupResult } from '../../src/domain/backup/report';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The worker is SIGKILLed while pg_dump runs (held up by a lock the test takes), and only the worker:
 * then the Temporal server is killed -9 and restarted on its SQLite file before a new worker comes.
 * its pg_dump lives on, still writing its temporary file, as after `kill -9 <worker pid>`. The
 * retry on a new worker stops that orphan, removes its file and dumps again; the run ends with
 * finished, verified artifacts in one backup set and nothing half-written beside them; its report,
 * refused twice with 503 by the receiver, is delivered once.
 */
describe('backupWorkflow survives a SIGKILLed worker mid-dump', () => {
  let stack: Stack;
  const pg = new PgScratch('opsflow_backup_crash');
  const dest = mkdtempSync(join(tmpdir(), 'opsflow-backup-crash-'));
  let configPath: string;
  let appDb: string;
  const env: NodeJS.ProcessEnv = {};
  const receiver = new HttpReceiver({ honourKey: true });

  beforeAll(async () => {
    await requirePostgres();
    appDb = await seedBackupDatabase(pg, 100_000);
    stack = await Stack.start({ persistent: true });
    await receiver.start();
    configPath = writeConfig({
      postgres: { app: { ...pgConnection, database: appDb } },
      notifiers: { ops: { type: 'webhook', url: `${receiver.url}/hook` } },
      backups: { crash: { databases: ['app'], destination: dest, notify: ['ops'] } },
    });
    const bundleFile = join(mkdtempSync(join(tmpdir(), 'opsflow-bundle-')), 'workflow-bundle.js');
    writeFileSync(bundleFile, (await workflowBundle({ encrypted: stack.encrypted })).code);
    env.OPSFLOW_WORKFLOW_BUNDLE = bundleFile;
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await receiver.stop();
    await pg.drop();
  }, 60_000);

  async function killWorkerOnly(child: ChildProcess) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
  }

  test('killed while pg_dump runs: the orphaned pg_dump is stopped, its temporary file removed, the rerun finishes and verifies', async () => {
    const locker = await holdDumps(pg, appDb);

    const first = stack.spawnWorkerProcess(configPath, env);
    const handle = await stack.client.workflow.start('backupWorkflow', {
      taskQueue: 'opsflow',
      workflowId: `backup-crash-${Date.now()}`,
      args: [{ set: 'crash' }],
    });
    const copyDir = await waitFor(
      'the copy folder',
      async () => readdirSync(dest).map((d) => join(dest, d))[0],
      90_000,
      200,
    );
    const pidFile = join(copyDir, 'db-app.dump.partial-1.pid');
    await waitFor(
      'pg_dump waiting on the lock',
      async () => ((await dumpWaiting(pg, 'db-app.dump')) && existsSync(pidFile) ? true : undefined),
      90_000,
      200,
    );
    const orphan = Number(readFileSync(pidFile, 'utf8'));
    expect(existsSync(join(copyDir, 'db-app.dump.partial-1'))).toBe(true);

    await killWorkerOnly(first.child);
    expect(alive(orphan)).toBe(true); // pg_dump outlived its worker
    await stack.restartServer();

    const second = stack.spawnWorkerProcess(configPath, env);
    try {
      // The retry (after the heartbeat timeout) stops the orphan and starts its own dump.
      await waitFor(
        'the second attempt',
        async () => (existsSync(join(copyDir, 'db-app.dump.partial-2')) ? true : undefined),
        120_000,
        200,
      );
      expect(existsSync(join(copyDir, 'db-app.dump.partial-1'))).toBe(false);
      await waitFor('the orphaned pg_dump gone', async () => (alive(orphan) ? undefined : true), 10_000, 100);
      receiver.failNext(2);
      await locker.query('COMMIT');

      const result = (await handle.result()) as BackupResult;
      expect(readdirSync(dest)).toEqual([copyDir.slice(dest.length + 1)]); // one backup set
      expect(result.drill).toBe('passed');
      expect(result.drills[0]).toMatchObject({ database: 'app', tables: 1, rows: 100_000 });
      // No leftover of the killed attempt; the sha256 cache is retention's reading of the verified dump.
      expect(readdirSync(copyDir).sort()).toEqual([
        'db-app.dump',
        'db-app.dump.manifest.json',
        'db-app.dump.sha256-cache.json',
        'db-app.dump.verified.json',
      ]);
      const sha = createHash('sha256')
        .update(readFileSync(join(copyDir, 'db-app.dump')))
        .digest('hex');
      expect(sha).toBe(result.artifacts[0].sha256);
      expect(receiver.accepted).toHaveLength(1);
      expect(receiver.attempts).toHaveLength(3); // two refused, then taken
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      const exited = new Promise((r) => second.child.once('exit', r));
      process.kill(-second.child.pid!, 'SIGKILL');
      await exited;
    }
  }, 300_000);
});

import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { ProcessGroup } from '../helpers/processes';
import { workflowBundleFile } from '../helpers/temporal';

const root = resolve(__dirname, '../..');
const tsxLoader = require.resolve('tsx', { paths: [root] });

/**
 * `npm run dev`'s launcher as a newcomer meets it: it comes up on its own ports and data folder,
 * keeps the server and UI up when the worker is killed and starts the worker again (so a run goes
 * on, as the README invites one to try), and names the schedules an earlier config left behind
 * with the command that removes them.
 */
describe('the dev stack launcher', () => {
  const processes = new ProcessGroup();
  const dataDir = mkdtempSync(join(tmpdir(), 'opsflow-dev-data-'));
  let web: Server;
  let temporalPort: number;
  let uiPort: number;
  let bundle: string;
  let healthInput: Record<string, unknown>;
  let launcher: { child: ChildProcess; output: () => string } | undefined;

  const config = (schedules: Record<string, unknown>) => ({
    http: { web: { url: `http://127.0.0.1:${(web.address() as { port: number }).port}/health` } },
    schedules,
  });
  const schedule = () => ({ workflow: 'healthCheckWorkflow', every: '1h', paused: true, input: healthInput });

  function launch(configPath: string) {
    const child = processes.spawn(process.execPath, ['--import', tsxLoader, join(root, 'scripts/dev.ts')], {
      cwd: root,
      env: {
        ...process.env,
        OPSFLOW_CONFIG: configPath,
        OPSFLOW_TEMPORAL_PORT: String(temporalPort),
        OPSFLOW_UI_PORT: String(uiPort),
        OPSFLOW_DATA_DIR: dataDir,
        OPSFLOW_METRICS_PORT: '0',
        OPSFLOW_WORKFLOW_BUNDLE: bundle,
      },
    });
    launcher = { child, output: ProcessGroup.output(child) };
    return launcher;
  }

  async function stopLauncher() {
    if (!launcher) return;
    const { child } = launcher;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // the launcher stops its worker and server in order, then exits
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
      clearTimeout(timer);
    }
    launcher = undefined;
  }

  /** Waits for the launcher to say something; on a time-out, the error carries what it did say. */
  const until = (what: string, cond: () => boolean, timeoutMs: number) =>
    waitFor(what, cond, timeoutMs, 200).catch((e: Error) => {
      throw new Error(`${e.message}\nlauncher output:\n${launcher?.output()}`);
    });

  const workerPids = (out: string) => [...out.matchAll(/dev: worker started \(pid (\d+)\)/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    healthInput = { targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } };
    temporalPort = await freePort();
    uiPort = await freePort();
    bundle = await workflowBundleFile();
  }, 180_000);

  afterAll(async () => {
    await stopLauncher();
    await processes.stopAll();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('a killed worker is started again while the server stays up; schedules the config dropped are named with the command that removes them', async () => {
    // An earlier config with one more schedule: the launcher creates both.
    const first = launch(writeConfig(config({ 'dev-check': schedule(), 'old-check': schedule() })));
    await until('the first launch to come up', () => first.output().includes('opsflow dev stack is up'), 120_000);
    expect(first.output()).not.toContain('no longer has');
    await stopLauncher();

    const second = launch(writeConfig(config({ 'dev-check': schedule() })));
    await until('the second launch to come up', () => second.output().includes('opsflow dev stack is up'), 120_000);
    const out = second.output();
    expect(out).toMatch(/schedules created by opsflow that the config no longer has: old-check; .*schedules apply --prune/);
    expect(out).not.toMatch(/no longer has: [^;]*dev-check/);

    const [pid] = workerPids(out);
    expect(pid).toBeGreaterThan(0);
    process.kill(-pid, 'SIGKILL');
    await until('a second worker', () => workerPids(second.output()).length >= 2, 60_000);
    expect(second.output()).toContain('dev: worker exited (SIGKILL)');
    expect(workerPids(second.output())[1]).not.toBe(pid);
    expect(second.child.exitCode).toBeNull();

    // The same server (its SQLite kept the schedules across the launcher's restart) and a worker
    // again: a run started now completes.
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      const client = new Client({ connection });
      const ids: string[] = [];
      for await (const s of client.schedule.list()) ids.push(s.scheduleId);
      expect(ids.sort()).toEqual(['dev-check', 'old-check']);
      const result = await client.workflow.execute('healthCheckWorkflow', {
        taskQueue: 'opsflow',
        workflowId: `dev-stack-after-kill-${Date.now()}`,
        args: [healthInput],
        workflowExecutionTimeout: '2 minutes',
      });
      expect(JSON.stringify(result)).toContain('web');
    } finally {
      await connection.close();
    }
  }, 400_000);
});

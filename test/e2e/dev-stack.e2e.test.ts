import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { writeConfig } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { DevLauncher } from '../helpers/dev-launcher';
import { ProcessGroup } from '../helpers/processes';
import { workflowBundleFile } from '../helpers/temporal';
import { encryptionModeOn } from '../helpers/encrypted-histories';
import { readConfigFile } from '../../src/config/load';
import { dataConverterFor } from '../../src/client/codec/data-converter';

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
  let launcher: DevLauncher | undefined;

  const config = (schedules: Record<string, unknown>) => ({
    http: { web: { url: `http://127.0.0.1:${(web.address() as { port: number }).port}/health` } },
    schedules,
  });
  const schedule = () => ({ workflow: 'healthCheckWorkflow', every: '1h', paused: true, input: healthInput });

  const launch = (configPath: string) =>
    (launcher = new DevLauncher(processes, { config: configPath, temporalPort, uiPort, dataDir, bundle }));
  const stopLauncher = async () => {
    await launcher?.stop();
    launcher = undefined;
  };

  const workerPids = (out: string) => [...out.matchAll(/dev: worker started \(pid (\d+)\)/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    healthInput = { targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } };
    temporalPort = await freePort();
    uiPort = await freePort();
    // In the suite's encrypted mode the worker refuses a bundle without the encoding failure converter.
    bundle = await workflowBundleFile({ encrypted: encryptionModeOn() });
  }, 180_000);

  afterAll(async () => {
    await stopLauncher();
    await processes.stopAll();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('a killed worker is started again while the server stays up; schedules the config dropped are named with the command that removes them', async () => {
    // An earlier config with one more schedule: the launcher creates both.
    const first = launch(writeConfig(config({ 'dev-check': schedule(), 'old-check': schedule() })));
    await first.up();
    expect(first.output()).not.toContain('no longer has');
    await stopLauncher();

    const secondConfig = writeConfig(config({ 'dev-check': schedule() }));
    const second = launch(secondConfig);
    await second.up();
    // The worker's own last line before it polls: the pid killed below is a worker that ran.
    await second.until('the worker to poll', (out) => out.includes('opsflow worker: task queue opsflow'), 60_000);
    const out = second.output();
    expect(out).toMatch(
      /schedules created by opsflow that the config no longer has: old-check; .*schedules apply --prune/,
    );
    expect(out).not.toMatch(/no longer has: [^;]*dev-check/);

    const [pid] = workerPids(out);
    expect(pid).toBeGreaterThan(0);
    process.kill(-pid, 'SIGKILL');
    await second.until('a second worker', (out) => workerPids(out).length >= 2, 60_000);
    expect(second.output()).toContain('dev: worker exited (SIGKILL)');
    expect(workerPids(second.output())[1]).not.toBe(pid);
    expect(second.child.exitCode).toBeNull();

    // The same server (its SQLite kept the schedules across the launcher's restart) and a worker
    // again: a run started now completes.
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      // In the suite's encrypted mode the stack runs encrypted: this client reads through its key.
      const parsed = readConfigFile(secondConfig);
      const client = new Client({
        connection,
        ...(parsed.encryption ? { dataConverter: dataConverterFor(parsed, 'default') } : {}),
      });
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

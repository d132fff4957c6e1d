import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { temporalCliPath } from './temporal-binaries';
import { opsflowSearchAttributes } from '../src/domain/search-attributes';
import { displayPath, findConfig, readConfigFile } from '../src/config/load';
import { connectClient, temporalSettings } from '../src/client/connection';
import { applySchedules, staleSchedules } from '../src/client/schedules';
import { dataConverterFor } from '../src/client/codec/data-converter';
import { uiDecodeProblem } from '../src/client/codec/ui-access';

/**
 * `npm run dev`: the Temporal dev server (SQLite under .data/, so runs survive a restart) with the
 * Web UI, opsflow's search attributes, one worker, and the configured schedules. Ctrl-C stops all.
 * A worker that exits (killed to watch a run survive it, or crashed) is started again while the
 * server and UI stay up; one that keeps dying at start is left stopped, with the command to run it.
 */
const root = resolve(__dirname, '..');
const ip = process.env.OPSFLOW_DEV_IP ?? '127.0.0.1';
const port = Number(process.env.OPSFLOW_TEMPORAL_PORT ?? 7233);
const uiPort = Number(process.env.OPSFLOW_UI_PORT ?? 8233);
const dataDir = resolve(process.env.OPSFLOW_DATA_DIR ?? join(root, '.data'));
// The worker's own lookup; where it finds nothing, the dev stack runs the bundled example rather
// than an empty config, and passes the file to the worker, whose first line names it.
const found = findConfig(undefined, process.env);
const configFile = found.path ?? join(root, 'opsflow.example.yaml');
const children: ChildProcess[] = [];
let stopping = false;
// A worker restarted this often within the span is failing at start (a bad config, a port in use):
// restarting it again would only scroll the reason away.
const WORKER_RESTART_DELAY_MS = 2_000;
const WORKER_RESTARTS_PER_SPAN = 5;
const WORKER_RESTART_SPAN_MS = 60_000;
const workerRestarts: number[] = [];

function start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, onExit?: (why: string) => void) {
  // Own process groups: Ctrl-C reaches only this launcher, which then sends each child exactly one
  // SIGTERM in order (the SDK takes a second signal as "exit without draining").
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (stopping) return;
    const why = `${signal ?? code}`;
    if (onExit) return onExit(why);
    console.error(`dev: ${name} exited (${why}); stopping the stack`);
    void stop(1);
  });
  return child;
}

function startWorker(address: string) {
  const args = ['--import', 'tsx', join(root, 'src/worker.ts'), configFile];
  const child = start('worker', process.execPath, args, { TEMPORAL_ADDRESS: address }, (why) => {
    const now = Date.now();
    workerRestarts.push(now);
    while (workerRestarts[0] < now - WORKER_RESTART_SPAN_MS) workerRestarts.shift();
    if (workerRestarts.length > WORKER_RESTARTS_PER_SPAN) {
      console.error(
        `dev: the worker exited (${why}) ${workerRestarts.length} times within ${WORKER_RESTART_SPAN_MS / 1000} s; not restarting it. ` +
          `The server and UI stay up; start a worker by hand with: TEMPORAL_ADDRESS=${address} npm run worker -- ${configFile}`,
      );
      return;
    }
    console.error(
      `dev: worker exited (${why}); runs wait on the server. Restarting the worker in ${WORKER_RESTART_DELAY_MS / 1000} s`,
    );
    setTimeout(() => stopping || startWorker(address), WORKER_RESTART_DELAY_MS);
  });
  console.log(`dev: worker started (pid ${child.pid})`);
}

function listening(p: number): Promise<boolean> {
  return new Promise<boolean>((r) => {
    const s = connect(p, ip);
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}

/** A port free on `host` now: what the codec server gets when its config says port 0 (any). */
function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolvePort(free));
    });
  });
}

async function waitForPort(p: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await listening(p)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`nothing answered on ${ip}:${p} within ${timeoutMs} ms`);
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('dev: stopping worker and Temporal…');
  // Worker first, so that it finishes in-flight activities while the server is still there.
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
    await exited;
    clearTimeout(timer);
  }
  process.exit(code);
}

async function main() {
  const config = readConfigFile(configFile); // refuse to start on an invalid config, naming the field
  if (!found.path)
    console.log(
      `dev: no config found ($OPSFLOW_CONFIG unset, no ./opsflow.config.yaml): using the bundled example ${configFile}`,
    );
  const temporal = temporalCliPath();
  if (!temporal) throw new Error('no temporal CLI: run `npm run setup` (or set TEMPORAL_CLI_PATH)');
  for (const [p, env] of [
    [port, 'OPSFLOW_TEMPORAL_PORT'],
    [uiPort, 'OPSFLOW_UI_PORT'],
  ] as const) {
    if (await listening(p)) throw new Error(`${ip}:${p} is already in use (another dev stack?); stop it or set ${env}`);
  }
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  // With encryption on, the Web UI decodes through opsflow's codec server (started first, so the
  // UI finds it); without, the launcher says how to turn it on rather than make a first run need keys.
  const codec = config.encryption?.codecServer;
  // Port 0 in the config means any: the launcher picks one, since the UI must be told where it is.
  const codecPort = codec && (codec.port || (await freePort(codec.host)));
  const codecEndpoint = codec ? `http://${codec.host === '::1' ? '[::1]' : codec.host}:${codecPort}` : undefined;
  // The UI is pointed at the codec server either way; when its browser cannot get through, the
  // banner says so rather than "the UI decodes" over pages of ciphertext.
  const uiProblem =
    codec &&
    uiDecodeProblem(codec, [`http://localhost:${uiPort}`, `http://${ip.includes(':') ? `[${ip}]` : ip}:${uiPort}`]);
  if (codec && codecPort) {
    start('codec server', process.execPath, [
      '--import',
      'tsx',
      join(root, 'src/client/cli.ts'),
      '-c',
      configFile,
      'codec',
      'serve',
      '--port',
      String(codecPort),
    ]);
    await waitForPort(codecPort);
  }
  start('temporal', temporal, [
    'server',
    'start-dev',
    ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : []),
    '--ip',
    ip,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    join(dataDir, 'temporal.sqlite'),
    '--log-level',
    'warn',
    ...opsflowSearchAttributes.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
  ]);
  await waitForPort(port);
  const address = `${ip}:${port}`;
  // One node process, not a tsx launcher that would relay the signal a second time.
  startWorker(address);

  const settings = temporalSettings({ ...process.env, TEMPORAL_ADDRESS: address });
  const client = await connectClient(settings, dataConverterFor(config, settings.namespace));
  const applied = await applySchedules(client, config, { configName: displayPath(configFile) });
  // Not pruned here: a schedule left from an earlier config may be one somebody still wants. Said, with the command.
  const stale = await staleSchedules(client, config);
  await client.connection.close();
  if (stale.length) {
    console.log(
      `dev: schedules created by opsflow that the config no longer has: ${stale.join(', ')}; they still run. ` +
        `Remove them with: npm run opsflow -- -c ${configFile} schedules apply --prune`,
    );
  }
  console.log(`
opsflow dev stack is up
  Temporal frontend  ${address}   (TEMPORAL_ADDRESS)
  Web UI             http://localhost:${uiPort}/namespaces/default/workflows
  Schedules          http://localhost:${uiPort}/namespaces/default/schedules  [${[...applied.created, ...applied.updated].join(', ')}]
  Worker             task queue "opsflow", config ${configFile}
  Data               ${dataDir} (delete it to start from scratch)
  Encryption         ${config.encryption ? `on (key "${config.encryption.current}")${codecEndpoint ? (uiProblem ? `; the UI shows payloads encrypted: it cannot decode through ${codecEndpoint} (${uiProblem})` : `, the UI decodes through ${codecEndpoint}`) : ''}` : 'off: payloads are stored in clear; docs/security.md turns it on (`npm run opsflow -- codec keygen` makes a key)'}
Try:  npm run opsflow -- start health-check --wait
      bin/temporal workflow list --address ${address} --query "WorkflowType='healthCheckWorkflow'"
A worker that exits is restarted (kill it to watch a run go on). Ctrl-C stops everything.`);
}

main().catch((err) => {
  console.error(`dev: ${err.message ?? err}`);
  void stop(1);
});

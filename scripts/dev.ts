import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { temporalCliPath } from './temporal-binaries';
import { opsflowSearchAttributes } from '../src/domain/search-attributes';
import { displayPath, findConfig, readConfigFile } from '../src/config/load';
import { connectClient, temporalSettings } from '../src/client/connection';
import { applySchedules } from '../src/client/schedules';

/**
 * `npm run dev`: the Temporal dev server (SQLite under .data/, so runs survive a restart) with the
 * Web UI, opsflow's search attributes, one worker, and the configured schedules. Ctrl-C stops all.
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

function start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  // Own process groups: Ctrl-C reaches only this launcher, which then sends each child exactly one
  // SIGTERM in order (the SDK takes a second signal as "exit without draining").
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`dev: ${name} exited (${signal ?? code}); stopping the stack`);
      void stop(1);
    }
  });
  return child;
}

function listening(p: number): Promise<boolean> {
  return new Promise<boolean>((r) => {
    const s = connect(p, ip);
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
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
  if (!found.path) console.log(`dev: no config found ($OPSFLOW_CONFIG unset, no ./opsflow.config.yaml): using the bundled example ${configFile}`);
  const temporal = temporalCliPath();
  if (!temporal) throw new Error('no temporal CLI: run `npm run setup` (or set TEMPORAL_CLI_PATH)');
  for (const [p, env] of [[port, 'OPSFLOW_TEMPORAL_PORT'], [uiPort, 'OPSFLOW_UI_PORT']] as const) {
    if (await listening(p)) throw new Error(`${ip}:${p} is already in use (another dev stack?); stop it or set ${env}`);
  }
  mkdirSync(dataDir, { recursive: true });
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  start('temporal', temporal, [
    'server', 'start-dev',
    '--ip', ip, '--port', String(port), '--ui-port', String(uiPort),
    '--db-filename', join(dataDir, 'temporal.sqlite'),
    '--log-level', 'warn',
    ...opsflowSearchAttributes.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
  ]);
  await waitForPort(port);
  const address = `${ip}:${port}`;
  // One node process, not a tsx launcher that would relay the signal a second time.
  start('worker', process.execPath, ['--import', 'tsx', join(root, 'src/worker.ts'), configFile], { TEMPORAL_ADDRESS: address });

  const client = await connectClient(temporalSettings({ ...process.env, TEMPORAL_ADDRESS: address }));
  const applied = await applySchedules(client, config, { configName: displayPath(configFile) });
  await client.connection.close();
  console.log(`
opsflow dev stack is up
  Temporal frontend  ${address}   (TEMPORAL_ADDRESS)
  Web UI             http://localhost:${uiPort}/namespaces/default/workflows
  Schedules          http://localhost:${uiPort}/namespaces/default/schedules  [${[...applied.created, ...applied.updated].join(', ')}]
  Worker             task queue "opsflow", config ${configFile}
  Data               ${dataDir} (delete it to start from scratch)
Try:  npm run opsflow -- start health-check --wait
      temporal workflow list --address ${address} --query "WorkflowType='healthCheckWorkflow'"
Ctrl-C stops everything.`);
}

main().catch((err) => {
  console.error(`dev: ${err.message ?? err}`);
  void stop(1);
});

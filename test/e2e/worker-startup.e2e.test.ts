import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { workflowBundle } from '../helpers/temporal';
import { temporalCliPath } from '../../scripts/temporal-binaries';
import { OpsflowHealth, opsflowSearchAttributes } from '../../src/domain/search-attributes';

const names = opsflowSearchAttributes.map((k) => k.name);
const KEYWORD = 2;

/**
 * What a worker says and does at start on a server that, like any cluster but `npm run dev`, does
 * not know opsflow's search attributes: it registers them, or refuses to start naming each one and
 * the command that registers them; and its first line names the config it runs with (or none).
 */
describe('worker start-up on a dev server without opsflow search attributes', () => {
  const fresh = 'opsflow-e2e-fresh';
  let stack: Stack;
  let bundlePath: string;
  let web: Server;
  let configPath: string;
  let emptyDir: string;

  const registered = async (namespace: string) =>
    (await stack.env.connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  // 'close', not 'exit': the output is read next, and 'exit' can come before the last of stdout
  const exitCode = (child: { once: (e: 'close', f: (c: number | null) => void) => void }) =>
    new Promise<number | null>((r) => child.once('close', r));

  beforeAll(async () => {
    stack = await Stack.start({ searchAttributes: false, namespaces: [fresh] });
    bundlePath = join(mkdtempSync(join(tmpdir(), 'opsflow-bundle-')), 'workflow-bundle.js');
    // the mode's variant: in the encrypted mode the config of the second test has the mode's key,
    // and an encrypted worker refuses a bundle without the encoding failure converter
    writeFileSync(bundlePath, (await workflowBundle({ encrypted: stack.encrypted })).code);
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    configPath = writeConfig({ http: { web: { url: `http://127.0.0.1:${port}/health` } } });
    emptyDir = mkdtempSync(join(tmpdir(), 'opsflow-no-config-'));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('check-only: refuses to start naming every missing attribute, and the printed command registers them', async () => {
    expect(Object.keys(await registered('default')).filter((n) => names.includes(n))).toEqual([]);
    const env = {
      OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: 'false',
      OPSFLOW_CONFIG: undefined,
      OPSFLOW_WORKFLOW_BUNDLE: bundlePath,
    };
    const refused = stack.spawnWorkerProcess(undefined, env, emptyDir);
    expect(await exitCode(refused.child)).toBe(1);
    const out = refused.output();
    // no config anywhere: the first line says so and what it means
    expect(out.split('\n')[0]).toMatch(
      /^opsflow worker: no config file found \(.*\$OPSFLOW_CONFIG unset, no opsflow\.config\.yaml in .*opsflow-no-config-.*\): running with an empty config, so no targets are configured/,
    );
    expect(out).toContain(`namespace "default" lacks opsflow's search attributes ${names.join(', ')}:`);
    expect(out).toContain('BadSearchAttributes');
    expect(out).not.toContain('task queue');
    // refusing changed nothing on the server
    expect(Object.keys(await registered('default')).filter((n) => names.includes(n))).toEqual([]);

    const commands = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('temporal operator search-attribute create'));
    expect(commands).toEqual([
      `temporal operator search-attribute create --address ${stack.temporalAddress()} --namespace default ${names.map((n) => `--name ${n} --type Keyword`).join(' ')}`,
    ]);
    // run exactly what was printed, with the real temporal CLI
    await new Promise<void>((resolve, reject) =>
      execFile(temporalCliPath()!, commands[0].split(' ').slice(1), { timeout: 60_000 }, (err, _o, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(),
      ),
    );
    const after = await waitFor('the registered attributes', async () => {
      const attrs = await registered('default');
      return names.every((n) => n in attrs) ? attrs : undefined;
    });
    for (const n of names) expect(after[n]).toBe(KEYWORD);

    const started = stack.spawnWorkerProcess(undefined, env, emptyDir);
    await waitFor(
      'the check-only worker to poll',
      () => (started.output().includes('opsflow worker: task queue opsflow') ? true : undefined),
      60_000,
    );
    expect(started.output()).not.toContain('registered search attributes');
    await stack.processes.kill(started.child);
  });

  test('default: registers the missing attributes, says so, and a run that sets one completes', async () => {
    const { child, output } = stack.spawnWorkerProcess(undefined, {
      TEMPORAL_NAMESPACE: fresh,
      OPSFLOW_CONFIG: configPath,
      OPSFLOW_WORKFLOW_BUNDLE: bundlePath,
    });
    await waitFor(
      'the worker to poll',
      () => (output().includes('opsflow worker: task queue opsflow') ? true : undefined),
      60_000,
    );
    const lines = output().split('\n');
    // the config it loaded, and how it found it
    expect(lines[0]).toBe(`opsflow worker: config ${configPath} (from $OPSFLOW_CONFIG): http 1`);
    expect(lines).toContain(`opsflow worker: registered search attributes ${names.join(', ')} in namespace ${fresh}`);
    const attrs = await registered(fresh);
    for (const n of names) expect(attrs[n]).toBe(KEYWORD);

    const client = stack.clientIn(fresh);
    const handle = await client.workflow.start('healthCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'hc-startup-fresh-namespace',
      args: [{ targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } }],
    });
    const result = await handle.result();
    expect(result.summary).toBe('1/1 healthy');
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OpsflowHealth)).toBe('healthy');
    expect(child.exitCode).toBeNull();
    // the teardown checks the stack's namespace only: in the encrypted mode, this one's run here
    if (stack.encrypted) expect(await stack.encryptedHistories(fresh)).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { Stack, writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { PgScratch } from '../helpers/pg-scratch';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { pgConnection, requirePostgres } from '../helpers/services';
import type { RolloutStatus } from '../../src/workflows/rollout/status';
import { testToken } from '../helpers/tokens';

/**
 * The `opsflow` CLI as an operator uses it, spawned as a process against the real dev server and
 * a worker: names checked against the config before a start, failed runs that say why (down to a
 * migration's differing keys), signals that change what `status` shows, `result`, and schedules
 * (prune, unpause, a cron in a time zone).
 */
/** A gate host metrics pass whatever the machine's load: memory only, at 99 % of 24 GiB. */
const HOST_GATE_A_BUSY_MACHINE_PASSES = { memoryPercent: 99 };

describe('opsflow CLI end to end', () => {
  const TOKEN = testToken('cli-e2e-lb');
  let stack: Stack;
  let pg: PgScratch;
  let schema: string;
  let lb: LbApi;
  let web: Server;
  let config: Record<string, unknown>;
  let configPath: string;
  const healthInput = { targets: { resources: false, http: ['web'], postgres: [], redis: [], hosts: [] } };

  beforeAll(async () => {
    await requirePostgres();
    pg = new PgScratch('cli_e2e');
    schema = await pg.schema();
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_CLI_E2E_LB_TOKEN = TOKEN;
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    config = {
      http: { web: { url: `http://127.0.0.1:${port}/health` } },
      postgres: { app: pgConnection },
      notifiers: { ops: { type: 'webhook', url: `http://127.0.0.1:${port}/hook` } },
      loadBalancers: {
        api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_CLI_E2E_LB_TOKEN' } },
      },
      metricSources: { host: { type: 'host' } },
    };
    configPath = writeConfig(config);
    stack = await Stack.start();
    await stack.startWorker(config);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await lb?.stop();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
    await pg?.drop();
  });

  const exists = async (workflowId: string) =>
    stack.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(() => true)
      .catch(() => false);

  test('start checks the names the input uses against --config, and exits 2 naming the field without starting anything', async () => {
    const input = {
      name: 'cli-names',
      source: { database: 'app', table: 'a' },
      target: { database: 'warehouse', table: 'b' },
      key: 'id',
      columns: { id: 'id' },
    };
    const refused = await stack.cli([
      '--config',
      configPath,
      'start',
      'data-migration',
      '--input',
      JSON.stringify(input),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `opsflow: invalid dataMigrationWorkflow input:\ntarget.database: "warehouse" is not a postgres database in ${configPath} (known: app)\n`,
    );
    // the config found through $OPSFLOW_CONFIG is used the same way
    const rollout = {
      service: 'cli-names',
      lb: 'edge2',
      backends: { old: 'old_system', new: 'new_system' },
      metricSources: ['host'],
    };
    const viaEnv = await stack.cli(['start', 'phased-rollout', '--input', JSON.stringify(rollout)], {
      OPSFLOW_CONFIG: configPath,
    });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain(`lb: "edge2" is not a load balancer in ${configPath} (known: api)`);
    expect(await exists('data-migration-cli-names')).toBe(false);
    expect(await exists('rollout-cli-names')).toBe(false);
  });

  test('a failed migration verification: start --wait and result print the failure, its causes and the differing keys, and exit 1', async () => {
    await pg.query(`CREATE TABLE ${schema}.src (id int PRIMARY KEY, v text NOT NULL)`);
    await pg.query(`CREATE TABLE ${schema}.dst (id int PRIMARY KEY, v text NOT NULL)`);
    await pg.query(`INSERT INTO ${schema}.src SELECT g, 'v' || g FROM generate_series(1, 10) g`);
    // 10 missing, 3 differing, 99 extra
    await pg.query(
      `INSERT INTO ${schema}.dst SELECT g, CASE WHEN g = 3 THEN 'changed' ELSE 'v' || g END FROM generate_series(1, 9) g`,
    );
    await pg.query(`INSERT INTO ${schema}.dst VALUES (99, 'v99')`);
    const input = {
      name: 'cli-verify',
      source: { database: 'app', table: `${schema}.src` },
      target: { database: 'app', table: `${schema}.dst` },
      key: 'id',
      columns: { id: 'id', v: 'v' },
      mode: 'verify',
      stateSchema: schema,
    };
    const started = await stack.cli([
      '--config',
      configPath,
      'start',
      'data-migration',
      '--input',
      JSON.stringify(input),
      '--wait',
    ]);
    expect(started.code).toBe(1);
    expect(started.stdout).toContain('started dataMigrationWorkflow data-migration-cli-verify');
    const err = started.stderr;
    expect(err).toMatch(
      /^opsflow: workflow data-migration-cli-verify failed: ApplicationFailure VerificationFailed \(non-retryable\): .+/,
    );
    expect(err).not.toContain('Workflow execution failed');
    expect(err).toContain('\n  missing in the target (1): 10\n');
    expect(err).toContain('\n  extra in the target (1): 99\n');
    expect(err).toContain('\n  differing (1): 3\n');

    const result = await stack.cli(['result', 'data-migration-cli-verify']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(err);
  });

  test("an input over Temporal's payload limit: start exits 1 with the server's reason and the input's size, and nothing runs", async () => {
    // ~3.5 MB of target users: over the dev server's 2 MB blob limit, under gRPC's 4 MB message limit;
    // 2.5 MB of them random, so that the codec's compression (the suite's encrypted mode) stays over.
    const targetUsers = Array.from({ length: 52_000 }, () => randomBytes(48).toString('base64url'));
    const input = {
      service: 'cli-big',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      metricSources: ['host'],
      steps: [{ weight: 100, window: '1m', targetUsers }],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'cli-big-')), 'input.json');
    writeFileSync(file, JSON.stringify(input));
    const out = await stack.cli(['--config', configPath, 'start', 'phased-rollout', '--input', file]);
    expect(out.code).toBe(1);
    const said =
      /^opsflow: Failed to start Workflow: Blob data size exceeds limit: the input is ([\d.]+) MB as JSON \((\d+) bytes\), over the server's limit for one payload \(2 MB by default\); nothing was started: keep big lists in a file or table the input names\n$/.exec(
        out.stderr,
      );
    expect(said).not.toBeNull();
    // The size of what was sent: the input as given, with the defaults validation filled in.
    const sent = Number(said![2]);
    expect(sent).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(input)));
    expect(sent).toBeLessThan(Buffer.byteLength(JSON.stringify(input)) + 1_000);
    expect(said![1]).toBe((sent / 1_000_000).toFixed(1));
    expect(await exists('rollout-cli-big')).toBe(false);
  });

  test('a run failed by an activity: the message and each cause with its type', async () => {
    // no --config: the name reaches the worker, whose planning refuses it
    const out = await stack.cli([
      'start',
      'health-check',
      '--id',
      'cli-hc-unknown',
      '--input',
      JSON.stringify({ targets: { http: ['nope'] } }),
      '--wait',
    ]);
    expect(out.code).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^opsflow: workflow cli-hc-unknown failed: /);
    expect(out.stderr).toMatch(
      /ActivityFailure \(activity planHealthCheck, retry state [A-Z_]+\): Activity task failed/,
    );
    expect(out.stderr).toMatch(
      /caused by ApplicationFailure UnknownTarget \(non-retryable\): unknown http target "nope"/,
    );
  });

  test('result prints the result of a finished run', async () => {
    const started = await stack.cli([
      'start',
      'health-check',
      '--id',
      'cli-hc-result',
      '--input',
      JSON.stringify(healthInput),
    ]);
    expect(started.code).toBe(0);
    const result = await stack.cli(['result', 'cli-hc-result']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ overall: 'healthy', summary: '1/1 healthy' });
    expect(printed).toEqual(await stack.client.workflow.getHandle('cli-hc-result').result());
  });

  test('signal: approve and abort change what the status query shows; result of the aborted run says why', async () => {
    const input = {
      service: 'cli-signal',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [
        { weight: 10, window: '1h', approval: true },
        { weight: 100, window: '1h' },
      ],
      sampleInterval: '30m',
      metricSources: ['host'],
      // The rollout now watches its interval (host read every few seconds): the default gate's CPU
      // level would roll it back on a busy machine, and these tests are about the CLI, not the gate.
      gate: HOST_GATE_A_BUSY_MACHINE_PASSES,
    };
    const started = await stack.cli([
      '--config',
      configPath,
      'start',
      'phased-rollout',
      '--input',
      JSON.stringify(input),
    ]);
    expect(started.code).toBe(0);
    const status = async () => {
      const out = await stack.cli(['status', 'rollout-cli-signal', '--json']);
      return out.code === 0 ? (JSON.parse(out.stdout) as RolloutStatus) : undefined;
    };
    const waiting = await waitFor(
      'the rollout to wait for approval',
      async () => ((await status())?.state === 'awaiting-approval' ? status() : undefined),
      60_000,
      500,
    );
    expect(waiting!.awaitingApproval).toBe(1);
    expect(waiting!.approved).toEqual([]);

    // message-name: deliberate: `opsflow signal` takes the name as the operator types it
    const approve = await stack.cli(['signal', 'rollout-cli-signal', 'approve', '--input', '{"by":"alice"}']);
    expect(approve).toMatchObject({ code: 0, stdout: 'signalled approve to rollout-cli-signal\n' });
    const approved = await waitFor(
      'the approval in status',
      async () => {
        const s = await status();
        return s?.state === 'monitoring' ? s : undefined;
      },
      60_000,
      500,
    );
    expect(approved.approved).toEqual([1]);
    expect(approved.awaitingApproval).toBeUndefined();
    expect(approved.decisions.map((d) => d.decision)).toContain('approve received from alice');
    expect(lb.config.traffic_split).toEqual({ old_system: 90, new_system: 10 });

    const abort = await stack.cli([
      'signal',
      'rollout-cli-signal',
      'abort', // message-name: deliberate: as the operator types it
      '--input',
      '{"by":"bob","reason":"cli test over"}',
    ]);
    expect(abort.code).toBe(0);
    const result = await stack.cli(['result', 'rollout-cli-signal']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^opsflow: workflow rollout-cli-signal failed: /);
    expect(result.stderr).toContain('aborted by bob');
    expect(result.stderr).toContain('cli test over');
    const after = (await status())!;
    expect(after.state).not.toBe('monitoring');
    expect(lb.config.traffic_split).toEqual({ old_system: 100, new_system: 0 });
  });

  test('status in words: a rollout awaiting approval names the step and the approving command, in the CLI, the timeline and the details; a paused one reads as paused', async () => {
    const id = 'rollout-cli-words';
    const input = {
      service: 'cli-words',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [
        { weight: 10, window: '1h', approval: true },
        { weight: 100, window: '1h' },
      ],
      sampleInterval: '30m',
      metricSources: ['host'],
      // The rollout now watches its interval (host read every few seconds): the default gate's CPU
      // level would roll it back on a busy machine, and these tests are about the CLI, not the gate.
      gate: HOST_GATE_A_BUSY_MACHINE_PASSES,
    };
    expect(
      (await stack.cli(['--config', configPath, 'start', 'phased-rollout', '--input', JSON.stringify(input)])).code,
    ).toBe(0);
    const words = () => stack.cli(['--config', configPath, 'status', id]);
    const waiting = await waitFor(
      'status to say the rollout awaits approval',
      async () => {
        const out = await words();
        return out.code === 0 && out.stdout.includes('state:     awaiting approval') ? out.stdout : undefined;
      },
      60_000,
      500,
    );
    const lines = waiting.trim().split('\n');
    expect(lines[0]).toMatch(
      /^rollout-cli-words \(phased-rollout\) — phased rollout of cli-words on api: old_system → new_system, 10% → 100%; started \d{4}-/,
    );
    expect(lines[1]).toMatch(/^state: {5}awaiting approval, step 1\/2 \(10 %\) \(since \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    expect(lines).toContain("waits for: a person's approve of step 1/2 (10 %) (anyone may approve)");
    expect(lines).toContain('act:       opsflow approve rollout-cli-words');
    expect(lines.some((l) => /^decisions: \d{4}-\d\d-\d\dT[\d:.]+Z \S/.test(l))).toBe(true);
    // --json is the status query's answer as it is
    expect(JSON.parse((await stack.cli(['status', id, '--json'])).stdout)).toMatchObject({
      state: 'awaiting-approval',
      awaitingApproval: 1,
    });

    // The Web UI's timeline: the wait is a timer whose summary names the step and the command.
    const handle = stack.client.workflow.getHandle(id);
    const summary = 'awaiting approval of step 1/2 (10 %) — `opsflow approve rollout-cli-words`';
    const timers = await waitFor(
      'the approval wait on the timeline',
      async () => {
        const { events } = await handle.fetchHistory();
        const found = (events ?? []).filter((e) => e.timerStartedEventAttributes && e.userMetadata?.summary);
        return found.length ? found : undefined;
      },
      60_000,
      500,
    );
    expect(await Promise.all(timers.map((e) => stack.payloadValue(e.userMetadata!.summary!)))).toEqual([summary]);
    // ... and the current details say the same
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain(`**${summary}**`);

    expect((await stack.cli(['--config', configPath, 'approve', id, '--by', 'alice'])).code).toBe(0);
    const paused = await stack.cli(['--config', configPath, 'pause', id, '--by', 'bob', '--reason', 'read the logs']);
    expect(paused.code).toBe(0);
    const pausedWords = (await words()).stdout.trim().split('\n');
    expect(pausedWords[1]).toMatch(
      /^state: {5}paused \(the window goes on sampling; no next step until resumed\), step 1\/2 \(10 %\) \(since \d{4}-[\d:.T-]+Z\)$/,
    );
    expect(pausedWords.find((l) => l.startsWith('waits for:'))).toMatch(
      /^waits for: a person's resume \(paused by bob at \d{4}-[\d:.T-]+Z\)$/,
    );
    expect(pausedWords).toContain('act:       opsflow resume rollout-cli-words');
    expect(pausedWords.some((l) => l.includes('paused by bob') && l.includes('read the logs'))).toBe(true);
    expect((await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails).toContain(
      'paused by bob',
    );
    // the approve's wait is over: its timer was cancelled, no other was started for it
    expect(
      (await handle.fetchHistory()).events!.filter((e) => e.timerCanceledEventAttributes).length,
    ).toBeGreaterThanOrEqual(1);

    expect((await stack.cli(['--config', configPath, 'abort', id, '--by', 'bob', '--reason', 'test over'])).code).toBe(
      0,
    );
    await handle.result().catch(() => undefined);
    const ended = (await words()).stdout;
    expect(ended).toMatch(/^state: {5}aborted — run failed at \d{4}-/m);
    expect(ended).toContain('act:       opsflow result rollout-cli-words');
    expect(ended).not.toContain('waits for:');
    const missing = await stack.cli(['status', 'no-such-run']);
    expect(missing).toMatchObject({ code: 1, stderr: 'opsflow: no workflow with id no-such-run\n' });
  });

  test('schedules: a cron in a time zone as the server describes it, unpause, and apply --prune deleting only what opsflow manages', async () => {
    const schedules = {
      'cli-nightly': {
        workflow: 'healthCheckWorkflow',
        cron: ['50 23 * * *'],
        timezone: 'Europe/Berlin',
        paused: true,
        input: healthInput,
      },
      'cli-gone': { workflow: 'healthCheckWorkflow', every: '1h', input: healthInput },
    };
    const env = { OPSFLOW_CONFIG: writeConfig({ ...config, schedules }) };
    const applied = await stack.cli(['schedules', 'apply'], env);
    expect(applied.stdout).toContain('created [cli-nightly, cli-gone]');

    const nightly = stack.client.schedule.getHandle('cli-nightly');
    const described = await nightly.describe();
    expect(described.spec.timezone).toBe('Europe/Berlin');
    expect(described.spec.calendars).toHaveLength(1);
    expect(described.spec.calendars![0]).toMatchObject({
      hour: [{ start: 23, end: 23, step: 1 }],
      minute: [{ start: 50, end: 50, step: 1 }],
    });
    // the next runs fall at 23:50 in Berlin, which is 21:50 or 22:50 UTC
    const berlin = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    expect(described.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const t of described.info.nextActionTimes) {
      expect(berlin.format(t)).toBe('23:50');
      expect([21, 22]).toContain(t.getUTCHours());
    }
    expect(described.state.paused).toBe(true);

    const unpaused = await stack.cli(['schedules', 'unpause', 'cli-nightly'], env);
    expect(unpaused).toMatchObject({ code: 0, stdout: 'schedule cli-nightly: unpaused\n' });
    expect((await nightly.describe()).state.paused).toBe(false);

    // a schedule opsflow does not manage must survive a prune
    await stack.client.schedule.create({
      scheduleId: 'cli-hand-made',
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'healthCheckWorkflow', taskQueue: 'opsflow', args: [healthInput] },
    });
    // prune finds schedules through visibility: wait until the server lists the one to delete
    await waitFor('cli-gone in the schedule list', async () => {
      for await (const s of stack.client.schedule.list()) if (s.scheduleId === 'cli-gone') return true;
      return undefined;
    });
    const pruneEnv = {
      OPSFLOW_CONFIG: writeConfig({
        ...config,
        schedules: { 'cli-nightly': { ...schedules['cli-nightly'], paused: false } },
      }),
    };
    const pruned = await stack.cli(['schedules', 'apply', '--prune'], pruneEnv);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('deleted [cli-gone]');
    await expect(stack.client.schedule.getHandle('cli-gone').describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await nightly.describe()).state.paused).toBe(false);
    expect((await stack.client.schedule.getHandle('cli-hand-made').describe()).spec.intervals?.[0].every).toBe(
      3_600_000,
    );
    const listed = await waitFor(
      'the schedule list without cli-gone',
      async () => {
        const out = await stack.cli(['schedules', 'list'], pruneEnv);
        return out.code === 0 && !out.stdout.includes('cli-gone') ? out.stdout : undefined;
      },
      30_000,
      500,
    );
    expect(listed).toMatch(/cli-nightly\thealthCheckWorkflow\tactive/);
  });

  test('list: rows say type, service, state and step; filters narrow them; a bad filter names the flag', async () => {
    const list = (...args: string[]) => stack.cli(['-c', configPath, 'list', ...args]);
    const hc = await stack.cli([
      '-c',
      configPath,
      'start',
      'health-check',
      '--id',
      'list-hc',
      '--input',
      JSON.stringify({ targets: { resources: false, http: ['web'] } }),
      '--wait',
    ]);
    expect(hc.code).toBe(0);
    const rollout = {
      service: 'list-shop',
      lb: 'api',
      backends: { old: 'old_system', new: 'new_system' },
      steps: [
        { weight: 10, window: '1h', approval: true },
        { weight: 100, window: '1h' },
      ],
      sampleInterval: '30m',
      metricSources: ['host'],
      // The rollout now watches its interval (host read every few seconds): the default gate's CPU
      // level would roll it back on a busy machine, and these tests are about the CLI, not the gate.
      gate: HOST_GATE_A_BUSY_MACHINE_PASSES,
    };
    expect(
      (await stack.cli(['-c', configPath, 'start', 'phased-rollout', '--input', JSON.stringify(rollout)])).code,
    ).toBe(0);

    // Visibility lags the runs a little: wait for the row the rollout's attributes make.
    const waiting = await waitFor(
      'the rollout listed as awaiting approval',
      async () => {
        const out = await list(
          '--type',
          'phased-rollout',
          '--service',
          'list-shop',
          '--state',
          'awaiting-approval',
          '--json',
        );
        const rows = out.code === 0 ? (JSON.parse(out.stdout) as Array<Record<string, string>>) : [];
        return rows.length ? rows : undefined;
      },
      60_000,
      500,
    );
    expect(waiting).toEqual([
      expect.objectContaining({
        workflowId: 'rollout-list-shop',
        type: 'phased-rollout',
        service: 'list-shop',
        state: 'awaiting-approval',
        step: '1/2 10%',
        status: 'running',
        closed: '-',
      }),
    ]);

    const table = await list('--service', 'list-shop');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^WORKFLOW ID\s+TYPE\s+SERVICE\s+STATUS\s+STATE\s+STEP\s+STARTED\s+CLOSED$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(
      /^rollout-list-shop\s+phased-rollout\s+list-shop\s+running\s+awaiting-approval\s+1\/2 10%\s+\d{4}-\d\d-\d\d /,
    );

    const done = await waitFor(
      'the health check listed as completed',
      async () => {
        const out = await list('--type', 'health-check', '--status', 'completed', '--json');
        const r = out.code === 0 ? (JSON.parse(out.stdout) as Array<Record<string, string>>) : [];
        return r.some((row) => row.workflowId === 'list-hc') ? r : undefined;
      },
      60_000,
      500,
    );
    // This file's other health checks are listed too: every row is a completed health check.
    expect(done.map((r) => r.workflowId)).toContain('list-hc');
    expect(done.every((r) => r.type === 'health-check' && r.status === 'completed' && r.closed !== '-')).toBe(true);
    expect((await list('--type', 'health-check', '--service', 'list-shop')).stdout.trim()).toMatch(/^no runs match /);

    const bad = await list('--type', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--type: unknown workflow "nope"');
  });
});

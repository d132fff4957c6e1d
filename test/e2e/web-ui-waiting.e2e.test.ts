import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { writeConfig } from '../helpers/stack';
import { freePort, waitFor } from '../helpers/ports';
import { DevLauncher } from '../helpers/dev-launcher';
import { ProcessGroup } from '../helpers/processes';
import { LbApi } from '../helpers/lb-api-load-balancer';
import { testToken } from '../helpers/tokens';
import { encryptionModeOn, withBrowserCodecEncryption } from '../helpers/encrypted-histories';
import { artifacts, chromiumPage } from '../helpers/chromium';
import { signOffCommand } from '../../src/domain/operator-commands';
import { readConfigFile } from '../../src/config/load';
import { dataConverterFor } from '../../src/client/codec/data-converter';

/**
 * The real Web UI of `npm run dev`'s server, in headless Chromium, while runs wait on people: a
 * rollout awaiting approval shows what it waits for and the command that approves it; a readiness
 * gate shows NOT READY, its blocking items and the commands that unblock them. Screenshots are kept
 * in .artifacts/.
 */
describe('the Web UI says why a run waits and which command moves it on', () => {
  const TOKEN = testToken('web-ui-waiting-lb');
  const processes = new ProcessGroup();
  let launcher: DevLauncher | undefined;
  let lb: LbApi;
  let connection: Connection;
  let client: Client;
  let uiPort: number;

  beforeAll(async () => {
    lb = await new LbApi(TOKEN).start();
    process.env.OPSFLOW_UI_WAIT_LB_TOKEN = TOKEN;
    const closedPort = await freePort();
    const temporalPort = await freePort();
    uiPort = await freePort();
    const settings = {
      schedules: {},
      loadBalancers: {
        api: { type: 'http-api', url: `http://127.0.0.1:${lb.port}`, token: { env: 'OPSFLOW_UI_WAIT_LB_TOKEN' } },
      },
      metricSources: { host: { type: 'host' } },
      readiness: {
        checklists: {
          shop: {
            items: [
              { id: 'port', check: 'tcp', host: '127.0.0.1', open: [closedPort] },
              { id: 'rota', check: 'signOff', description: 'on-call rota published' },
            ],
          },
        },
      },
    };
    // In the suite's encrypted mode: a codec server the browser below can decode through.
    const configPath = writeConfig(withBrowserCodecEncryption(settings, uiPort));
    launcher = new DevLauncher(processes, {
      config: configPath,
      temporalPort,
      uiPort,
      dataDir: mkdtempSync(join(tmpdir(), 'opsflow-ui-wait-data-')),
      bundle: '',
    });
    await launcher.up();
    if (encryptionModeOn())
      expect(launcher.output()).toMatch(/Encryption\s+on \(key "suite"\), the UI decodes through/);
    connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    // In the suite's encrypted mode the dev stack runs encrypted: this client reads through its key.
    const config = readConfigFile(configPath);
    client = new Client({
      connection,
      ...(config.encryption ? { dataConverter: dataConverterFor(config, 'default') } : {}),
    });
    mkdirSync(artifacts, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await connection?.close();
    await launcher?.stop();
    await processes.stopAll();
    await lb?.stop();
  });

  const currentDetails = async (id: string) =>
    (await client.workflow.getHandle(id).query<{ currentDetails?: string }>('__temporal_workflow_metadata'))
      .currentDetails ?? '';
  const page = (id: string) => `http://localhost:${uiPort}/namespaces/default/workflows/${id}`;
  /** The run's User Metadata tab: its summary, details and current details. */
  const metadataPage = async (id: string) =>
    `${page(id)}/${(await client.workflow.getHandle(id).describe()).runId}/user-metadata`;

  test('a rollout awaiting approval: the waiting reason and `opsflow approve <id>` are on its page', async () => {
    const id = 'rollout-ui-shop';
    await client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: id,
      args: [
        {
          service: 'ui-shop',
          lb: 'api',
          backends: { old: 'old_system', new: 'new_system' },
          steps: [
            { weight: 10, window: '1h', approval: true },
            { weight: 100, window: '1h' },
          ],
          sampleInterval: '30m',
          metricSources: ['host'],
        },
      ],
    });
    const reason = 'awaiting approval of step 1/2 (10 %)';
    await waitFor(
      'the rollout to show its approval wait',
      async () => ((await currentDetails(id).catch(() => '')).includes(reason) ? true : undefined),
      120_000,
      500,
    );

    const command = `opsflow approve ${id}`;
    // the timeline: the wait is a timer whose summary names the step and the command
    const text = await chromiumPage(page(id), join(artifacts, 'web-ui-rollout-awaiting-approval.png'), [
      id,
      reason,
      command,
    ]);
    // (the timeline shows a summary as written: the command in backquotes)
    expect(text).toContain(`${reason} — \`${command}\``);
    // User Metadata: the current details say the same
    const details = await chromiumPage(
      await metadataPage(id),
      join(artifacts, 'web-ui-rollout-awaiting-approval-details.png'),
      ['Current Details', 'ui-shop: awaiting-approval', reason, command],
    );
    expect(details).toContain(reason);
    expect(details).toContain(command);
    // encrypted mode: what the browser showed came through the codec server, as the UI's decodes
    if (encryptionModeOn())
      expect(launcher!.output()).toMatch(
        /opsflow codec: decode \d+ payloads? for anonymous \(auth none\) namespace default/,
      );
    await client.workflow.getHandle(id).terminate('web ui test over');
  }, 400_000);

  test('a readiness run: NOT READY, what blocks, and the sign-off and recheck commands are on its page', async () => {
    const id = 'readiness-ui-shop';
    await client.workflow.start('readinessCheckWorkflow', {
      taskQueue: 'opsflow',
      workflowId: id,
      args: [{ service: 'ui-shop', checklist: 'shop', deadline: '2h' }],
    });
    await waitFor(
      'the gate to wait with its blocking items',
      async () =>
        (await currentDetails(id).catch(() => '')).includes('NOT READY — blocking: port, rota') ? true : undefined,
      120_000,
      500,
    );
    // its wait is on a timer whose summary says why
    const { events } = await client.workflow.getHandle(id).fetchHistory();
    expect((events ?? []).some((e) => e.timerStartedEventAttributes && e.userMetadata?.summary)).toBe(true);

    const signOff = signOffCommand(id, 'rota');
    const recheck = `opsflow signal ${id} recheck`;
    // the timeline: the gate's wait is a timer saying what blocks and the commands that unblock it
    const text = await chromiumPage(page(id), join(artifacts, 'web-ui-readiness-waiting.png'), [
      id,
      'NOT READY, blocking: port, rota',
      signOff,
      recheck,
    ]);
    expect(text).toContain(
      `NOT READY, blocking: port, rota; waiting for a sign-off, waiver or recheck (\`${signOff}\`, \`${recheck}\`)`,
    );
    // User Metadata: the current details, verdict first, then per blocking item what it needs
    const details = await chromiumPage(
      await metadataPage(id),
      join(artifacts, 'web-ui-readiness-waiting-details.png'),
      ['Current Details', 'NOT READY — blocking: port, rota', signOff, recheck],
    );
    expect(details).toContain("rota: waits for a person's sign-off");
    expect(details).toContain(signOff);
    await client.workflow.getHandle(id).terminate('web ui test over');
  }, 400_000);
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { writeConfig } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { DevLauncher } from '../helpers/dev-launcher';
import { ProcessGroup } from '../helpers/processes';
import { dataConverterFor } from '../../src/client/codec/data-converter';
import { parseConfigText } from '../../src/config/load';
import { artifacts, chromium } from '../helpers/chromium';

/**
 * The real Web UI of `npm run dev`'s server with encryption on: the launcher starts the codec server
 * and points the UI at it, and the UI, in a real browser, shows a run's input decoded while the
 * history holds only ciphertext. The screenshot is kept in .artifacts/.
 */
describe('the Web UI decodes encrypted runs through the codec server', () => {
  const processes = new ProcessGroup();
  const marker = `zebra${randomBytes(5).toString('hex')}`;
  const key = randomBytes(32).toString('base64');
  let web: Server;
  let launcher: DevLauncher | undefined;
  let configPath: string;
  let temporalPort: number;
  let uiPort: number;

  beforeAll(async () => {
    const port = await freePort();
    web = createServer((_q, r) => r.writeHead(200).end('ok')).listen(port, '127.0.0.1');
    temporalPort = await freePort();
    uiPort = await freePort();
    const codecPort = await freePort();
    process.env.OPSFLOW_UI_E2E_KEY = key;
    configPath = writeConfig({
      http: { [marker]: { url: `http://127.0.0.1:${port}/health` } },
      schedules: {},
      encryption: {
        keys: [{ id: 'ui', key: { env: 'OPSFLOW_UI_E2E_KEY' } }],
        current: 'ui',
        // The browser cannot carry a static token: on loopback the dev stack's codec server runs without one.
        codecServer: {
          host: '127.0.0.1',
          port: codecPort,
          origins: [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`],
          auth: 'none',
        },
      },
    });
    // bundle '': the worker bundles at start, with the failure converter encryption needs
    launcher = new DevLauncher(processes, {
      config: configPath,
      temporalPort,
      uiPort,
      dataDir: mkdtempSync(join(tmpdir(), 'opsflow-ui-data-')),
      bundle: '',
    });
    await launcher.up();
  }, 240_000);

  afterAll(async () => {
    await launcher?.stop();
    await processes.stopAll();
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
  });

  test('a run’s input shows decoded in the browser; the codec server logged the UI’s decodes', async () => {
    expect(launcher!.output()).toMatch(
      /Encryption\s+on \(key "ui"\), the UI decodes through http:\/\/127\.0\.0\.1:\d+/,
    );
    const config = parseConfigText(JSON.stringify(require(configPath)), configPath);
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    const workflowId = `ui-codec-${randomBytes(4).toString('hex')}`;
    try {
      const client = new Client({ connection, dataConverter: dataConverterFor(config, 'default') });
      await client.workflow.execute('healthCheckWorkflow', {
        taskQueue: 'opsflow',
        workflowId,
        args: [{ targets: { resources: false, http: [marker], postgres: [], redis: [], hosts: [] } }],
        workflowExecutionTimeout: '3 minutes',
      });
      // The same history without the codec: the marker is nowhere in clear.
      const plain = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
      expect(JSON.stringify(plain)).not.toContain(marker);
    } finally {
      await connection.close();
    }

    mkdirSync(artifacts, { recursive: true });
    const screenshot = join(artifacts, 'web-ui-codec.png');
    const dom = await chromium(`http://localhost:${uiPort}/namespaces/default/workflows/${workflowId}`, screenshot);
    const text = dom.replace(/<[^>]+>/g, ' ');
    expect(text).toContain(workflowId);
    expect(text).toContain(marker); // the decoded input (and result): ciphertext in the database
    expect(launcher!.output()).toMatch(
      /opsflow codec: decode \d+ payloads? for anonymous \(auth none\) namespace default from 127\.0\.0\.1/,
    );
  }, 400_000);
});

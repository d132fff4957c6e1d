import { Stack, writeConfig } from '../helpers/stack';
import { HttpReceiver } from '../helpers/http-receiver';
import { waitFor } from '../helpers/ports';
import { recordHistory } from '../helpers/histories';
import { blueGreenBehindHaproxy, type Haproxy } from '../helpers/haproxy';
import { runtimeApiCommand } from '../../src/activities/systems/load-balancer/haproxy-runtime-api';
import { INCIDENT_STORE_MISSING } from '../../src/config/sections/incident';
import type { IncidentResult } from '../../src/workflows/incident';
import { resolveSignal, statusQuery as incidentStatusQuery } from '../../src/workflows/incident/messages';
import { statusQuery as rolloutStatusQuery } from '../../src/workflows/rollout/messages';

jest.setTimeout(180_000);

/**
 * Stopping the change never depends on the incident store: with no `incident.store` in the config
 * (the README's minimal config has none), a P0 for a service whose rollout is at 30 % behind a real
 * HAProxy rolls the rollout back and pages, and the incident keeps its record in its own status,
 * saying that nothing is stored. The worker, started as a process, warns about the missing store.
 */
describe('an incident without an incident store', () => {
  let stack: Stack;
  let haproxy: Haproxy;
  const hook = new HttpReceiver();
  let workerOutput = () => '';
  const api = (cmd: string) => runtimeApiCommand({ socket: haproxy.socket }, cmd, 5000);
  const weight = async (server: string) => Number((await api(`get weight app/${server}`)).split(' ')[0]);

  beforeAll(async () => {
    stack = await Stack.start();
    ({ haproxy } = await blueGreenBehindHaproxy(stack.processes));
    await hook.start();
    const config = {
      loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: haproxy.socket }, backend: 'app' } },
      metricSources: {
        'through-lb': {
          type: 'probe',
          url: `${haproxy.url}/`,
          requests: 20,
          minRequests: 10,
          concurrency: 2,
          timeoutMs: 3000,
        },
      },
      notifiers: { ops: { type: 'webhook', url: `${hook.url}/page` } },
      // incidents in use (people to page), but no incident.store
      incident: { notify: { P0: ['ops'], P1: ['ops'], P2: ['ops'] }, remediation: { runbooks: { P0: [] } } },
    };
    const worker = stack.spawnWorkerProcess(writeConfig(config));
    workerOutput = worker.output;
    await waitFor(
      'the worker to poll',
      async () => (workerOutput().includes('opsflow worker: task queue opsflow') ? true : undefined),
      120_000,
      250,
    ).catch((e) => {
      throw new Error(`${e.message}\n${workerOutput()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await haproxy?.stop();
    await hook.stop();
  }, 60_000);

  test('the worker warns at start, naming incident.store and what is lost', () => {
    const warning = workerOutput()
      .split('\n')
      .find((l) => l.startsWith('opsflow worker: warning: incident.store is not set'));
    expect(warning).toContain('incidents are in use (incident.notify)');
    expect(warning).toContain('no search across incidents');
    expect(warning).toContain('no postmortem table');
  });

  test('a P0 rolls back the rollout at 30 % and pages; its status says nothing is stored', async () => {
    const rollout = await stack.client.workflow.start('phasedRolloutWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'rollout-checkout',
      args: [
        {
          service: 'checkout',
          lb: 'edge',
          backends: { old: 'blue', new: 'green' },
          metricSources: ['through-lb'],
          gate: { errorRatePercent: 50 },
          sampleInterval: '1s',
          steps: [
            { weight: 30, window: '10m' },
            { weight: 100, window: '5s' },
          ],
        },
      ],
    });
    await waitFor('green at 30 %', async () => ((await weight('green')) === 30 ? true : undefined), 60_000, 250);

    const incident = await stack.client.workflow.start('incidentResponseWorkflow', {
      taskQueue: 'opsflow',
      workflowId: 'incident-checkout-down',
      args: [
        {
          title: 'checkout down after the new build',
          type: 'service_down',
          services: ['checkout'],
          severity: 'P0',
          source: 'api',
        },
      ],
    });

    // The LB first, with a bound: a broken rollback fails here, saying what HAProxy reads.
    const weights = async () => ({ blue: await weight('blue'), green: await weight('green') });
    await waitFor(
      'HAProxy back on blue',
      async () => {
        const w = await weights();
        return w.green === 0 && w.blue === 100 ? w : undefined;
      },
      60_000,
      250,
    ).catch(async (e) => {
      const run = (await incident.describe()).status.name;
      throw new Error(
        `${e.message}: HAProxy reads ${JSON.stringify(await weights())}; the incident run is ${run}; the worker said:\n${workerOutput().slice(-2000)}`,
      );
    });
    const err = await rollout.result().catch((e) => e);
    expect(String(err.cause?.message)).toMatch(/abort/i);

    const page = await waitFor(
      'the P0 page',
      async () => hook.requests.find((r) => r.json?.details?.workflowId === 'incident-checkout-down'),
      30_000,
      250,
    );
    expect(page.json.details.severity).toBe('P0');

    const status = await waitFor(
      'the store entry',
      async () => {
        const s = await incident.query(incidentStatusQuery);
        return s.timeline.some((e) => e.kind === 'store') ? s : undefined;
      },
      30_000,
      250,
    );
    expect(status.state).toBe('open');
    expect(status.storeProblem).toBe(INCIDENT_STORE_MISSING);
    // no store to hand out -2, -3: the id carries its own suffix, already in the change's decision below
    expect(status.id).toMatch(/^INC-\d{14}-[0-9a-z]{7}$/);
    expect(status.timeline.filter((e) => e.kind === 'store').map((e) => [e.message, e.outcome])).toEqual([
      [INCIDENT_STORE_MISSING, 'skipped'],
    ]);
    expect(status.timeline.filter((e) => e.kind === 'change').map((e) => [e.message, e.outcome])).toEqual([
      [`rollout of checkout (rollout-checkout) rolled back by incident ${status.id}`, 'ok'],
    ]);
    const rolloutStatus = await rollout.query(rolloutStatusQuery);
    expect(rolloutStatus.decisions.some((d) => d.decision.includes(`incident ${status.id}`))).toBe(true);

    // Resolved without a store: the run ends well, its postmortem is in its status, not stored.
    await incident.signal(resolveSignal, { by: 'test', note: 'rolled back' });
    const result = (await incident.result()) as IncidentResult;
    expect([result.state, result.postmortemStored]).toEqual(['resolved', false]);
    const after = await incident.query(incidentStatusQuery);
    expect(after.postmortem).toContain(`rollout of checkout (rollout-checkout) rolled back by incident ${status.id}`);
    recordHistory(stack.temporalAddress(), 'incident-checkout-down', 'incident-p0-no-store-rolls-back-rollout');
  });
});

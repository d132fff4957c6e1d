import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { devServerEnv, workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/ports';
import { dataMigrationWorkflow } from '../../src/workflows';
import type { ChunkCopy, MigrationShape, PlanSummary } from '../../src/activities/migration';
import { runbookExample } from '../../src/domain/migration/input';
import type { Chunk } from '../../src/domain/migration/plan';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/migration/messages';

type Event = temporal.api.history.v1.IHistoryEvent;

/**
 * The migration's orchestration against the dev server, with activities that stand in for the
 * databases and let a test hold a refill of chunks while it signals the run.
 */
describe('dataMigrationWorkflow (orchestration)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const shape: MigrationShape = {
    keyType: 'bigint',
    columns: [{ target: 'user_id', expr: 'id', type: 'bigint' }],
    sameDatabase: true,
  };
  const chunks: Chunk[] = [0, 1, 2, 3].map((no) => ({
    no,
    lo: no === 0 ? null : String(no * 100),
    hi: no === 3 ? null : String((no + 1) * 100),
  }));

  const scheduled = (events: Event[], type: string) =>
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  const signalled = (events: Event[], name: string) =>
    events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name);

  test('a pause that arrives while a lane waits for its next chunks holds those chunks until resume', async () => {
    let releaseRefill!: () => void;
    const refillHeld = new Promise<void>((resolve) => (releaseRefill = resolve));
    let refills = 0;
    const copied: number[] = [];
    const logClosed: string[] = [];
    const taskQueue = 'migration-pause-during-refill';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        resolveMigrationDatabases: async () => undefined,
        preflightMigration: async () => shape,
        openMigrationLog: async () => 41,
        planMigration: async (): Promise<PlanSummary> => ({
          chunks: chunks.length,
          chunksDone: 0,
          rowsPlanned: 400,
          rowsDoneBefore: 0,
          resumed: false,
        }),
        nextMigrationChunks: async (_input: unknown, _phase: string, afterNo: number, limit: number) => {
          // The first refill waits for the test: the lane is waiting for it when the pause comes.
          if (refills++ === 0) await refillHeld;
          // As the progress table answers: up to the limit asked for (a shorter answer is the last).
          return { chunks: chunks.filter((c) => c.no > afterNo).slice(0, limit), nowMs: Date.now() };
        },
        copyMigrationChunks: async (_input: unknown, _shape: unknown, batch: Chunk[]): Promise<ChunkCopy[]> => {
          copied.push(...batch.map((c) => c.no));
          return batch.map((c) => ({ chunkNo: c.no, rows: 100, countedByThisRun: true, finishedAtMs: Date.now() }));
        },
        closeMigrationLog: async (_input: unknown, _id: number, _runKey: string, status: string) => {
          logClosed.push(status);
          return 400;
        },
      },
    });
    const handle: WorkflowHandle<typeof dataMigrationWorkflow> = await env.client.workflow.start(
      dataMigrationWorkflow,
      {
        taskQueue,
        workflowId: 'migration-pause-during-refill',
        args: [{ ...runbookExample, parallelism: 1, verify: false }],
      },
    );
    const history = async () => (await handle.fetchHistory()).events ?? [];

    const result = await worker.runUntil(async () => {
      await waitFor('the lane waiting for its first chunks', async () => (refills > 0 ? true : undefined), 30_000);
      await handle.signal(pauseSignal);
      await waitFor(
        'the run to see the pause',
        async () => ((await handle.query(statusQuery)).paused ? true : undefined),
        30_000,
      );
      releaseRefill();
      // The refill's result has been handled (a workflow task completed after it): whatever the
      // lane was going to do with those chunks, its commands are in the history now.
      await waitFor(
        'the workflow task after the refill',
        async () => {
          const events = await history();
          const refill = scheduled(events, 'nextMigrationChunks')[0];
          const done = events.find(
            (e) =>
              e.activityTaskCompletedEventAttributes &&
              String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(refill?.eventId),
          );
          return done &&
            events.some((e) => Number(e.eventId) > Number(done.eventId) && e.workflowTaskCompletedEventAttributes)
            ? true
            : undefined;
        },
        30_000,
      );
      expect(
        scheduled(await history(), 'copyMigrationChunks').map((e) => `copy scheduled at event ${e.eventId}`),
      ).toEqual([]);
      expect(copied).toEqual([]);
      await handle.signal(resumeSignal);
      return handle.result();
    });

    expect(result).toMatchObject({ rowsCopied: 400, chunks: 4 });
    expect(copied).toEqual([0, 1, 2, 3]);
    expect(logClosed).toEqual(['COMPLETED']);
    // Every copy was scheduled after the resume, none between the pause and the resume.
    const events = await history();
    const resumedAt = Number(signalled(events, 'resume')!.eventId);
    expect(Number(signalled(events, 'pause')!.eventId)).toBeLessThan(resumedAt);
    // One lane, four chunks: one copy segment (opsflow-migration-copy-segments).
    expect(scheduled(events, 'copyMigrationChunks').map((e) => Number(e.eventId) > resumedAt)).toEqual([true]);
  });
});

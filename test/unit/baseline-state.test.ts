import {
  BaselineRun,
  chunkRanges,
  CHUNKS_PER_WINDOW,
  minChunkTicks,
  planWindow,
} from '../../src/workflows/baseline/state';
import type { Baseline } from '../../src/domain/baseline/baseline';

const groups = [
  { id: 'host', kind: 'host' as const },
  { id: 'http:web', kind: 'http' as const, target: 'web' },
];
const window = planWindow({ duration: 3_600_000, interval: 10_000 }, Date.parse('2026-11-20T14:00:00Z'));

describe('baseline run state (no Temporal)', () => {
  test('a 60-min window at 10 s is 360 ticks in 12 chunks of 30; short windows get one tick per chunk at least', () => {
    expect(window).toEqual({
      start: '2026-11-20T14:00:00.000Z',
      endsAt: '2026-11-20T15:00:00.000Z',
      durationMs: 3_600_000,
      intervalMs: 10_000,
      ticks: 360,
    });
    const c = chunkRanges(360);
    expect(c).toHaveLength(12);
    expect(c[0]).toEqual([0, 30]);
    expect(c[11]).toEqual([330, 360]);
    expect(chunkRanges(5)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    expect(chunkRanges(25)).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 12],
      [12, 15],
      [15, 18],
      [18, 21],
      [21, 24],
      [24, 25],
    ]);
  });

  test('a chunk spans half a minute at least: a short window is one activity, not one per tick; an hour is as before', () => {
    expect(minChunkTicks(1_000)).toBe(30);
    expect(minChunkTicks(10_000)).toBe(3);
    expect(minChunkTicks(60_000)).toBe(1);
    expect(chunkRanges(12, CHUNKS_PER_WINDOW, minChunkTicks(1_000))).toEqual([[0, 12]]);
    expect(chunkRanges(60, CHUNKS_PER_WINDOW, minChunkTicks(1_000))).toEqual([
      [0, 30],
      [30, 60],
    ]);
    expect(chunkRanges(360, CHUNKS_PER_WINDOW, minChunkTicks(10_000))).toEqual(chunkRanges(360));
  });

  test('chunks add up per group; a group is done when its window is', () => {
    const run = new BaselineRun('web');
    run.start(window, groups);
    expect(run.status.groups.map((g) => g.state)).toEqual(['sampling', 'sampling']);
    for (const [from, until] of chunkRanges(360)) {
      run.chunkDone({ group: 'http:web', from, until, recorded: until - from - 1, missed: 1, requests: 90, errors: 1 });
    }
    const web = run.status.groups[1];
    expect(web).toMatchObject({ state: 'done', ticksDone: 360, recorded: 348, missed: 12, requests: 1080, errors: 12 });
    expect(run.status.groups[0].state).toBe('sampling');
    expect(run.partialReason()).toBeUndefined();
    expect(run.details()).toContain(
      '- http:web: done, 360/360 ticks (348 recorded, 12 missed, 1080 requests, 12 errors)',
    );
  });

  test('abort then cancel: the first reason counts, groups still sampling are stopped, the baseline is partial', () => {
    const run = new BaselineRun('web');
    run.start(window, groups);
    run.chunkDone({ group: 'host', from: 0, until: 360, recorded: 360, missed: 0 });
    run.stop('aborted by ann while sampling: deploy incoming');
    run.stop('cancelled after 5m');
    expect(run.status.groups.map((g) => g.state)).toEqual(['done', 'stopped']);
    expect(run.partialReason()).toBe('aborted by ann while sampling: deploy incoming');
    run.summarizing();
    expect(run.status.partial).toBe('aborted by ann while sampling: deploy incoming');
  });

  test('a failed group makes the baseline partial and says why; unknown groups are a bug', () => {
    const run = new BaselineRun('web');
    run.start(window, groups);
    run.groupFailed('http:web', 'connect ECONNREFUSED');
    expect(run.partialReason()).toBe('http:web failed (connect ECONNREFUSED)');
    expect(() => run.chunkDone({ group: 'redis:x', from: 0, until: 1, recorded: 1, missed: 0 })).toThrow(
      /no group redis:x/,
    );
  });

  test('summarized: decisions name thresholds set and those with insufficient data; the phase ends partial or done', () => {
    const run = new BaselineRun('web');
    run.start(window, groups);
    const b = {
      complete: false,
      groups: [
        {
          group: 'host',
          thresholds: { cpuPercent: { warning: 50, critical: 60 }, memoryPercent: { insufficient: '3 samples' } },
        },
        { group: 'http:web', thresholds: { p95Ms: { insufficient: '3 requests' } } },
      ],
    } as unknown as Baseline;
    run.summarized(b);
    expect(run.status.decisions.at(-1)).toBe(
      'baseline PARTIAL: thresholds for host cpuPercent; insufficient data for host memoryPercent, http:web p95Ms',
    );
    run.finish();
    expect(run.phase).toBe('partial');
    expect(run.end('failed', 'boom')).toBe('partial');
    expect(run.status).toMatchObject({ phase: 'failed', failure: 'boom' });
  });

  test('the decision log stays bounded', () => {
    const run = new BaselineRun('web');
    for (let i = 0; i < 120; i++) run.decide(`d${i}`);
    expect(run.status.decisions).toHaveLength(50);
    expect(run.status.decisions[0]).toBe('d70');
  });
});

test('an abort stops something only while planning or sampling', () => {
  const run = new BaselineRun('web');
  expect(run.sampling).toBe(true);
  run.start(window, groups);
  expect(run.sampling).toBe(true);
  run.summarizing();
  expect(run.sampling).toBe(false);
});

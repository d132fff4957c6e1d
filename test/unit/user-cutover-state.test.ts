import { baselineRefs, userCutoverInput } from '../../src/domain/cutover/input';
import { CutoverRun } from '../../src/workflows/cutover/state';
import { reschedule, skip } from '../../src/workflows/cutover/reschedule';

const origin = Date.parse('2026-11-24T00:00:00Z');
const H = 3_600_000;
const input = userCutoverInput.parse({
  service: 'portal',
  directory: 'staff',
  router: 'gateway',
  metricSources: ['prom'],
});
const fresh = () => new CutoverRun(input, { originMs: origin, runKey: 'cutover-portal/r1' });

describe('CutoverRun', () => {
  test('runbooks §3 schedule resolved once against the start; samples per window from the interval', () => {
    const run = fresh();
    expect(run.status.batches.map((b) => [b.startAt, b.samplesPlanned])).toEqual([
      ['2026-11-24T01:00:00.000Z', 30],
      ['2026-11-24T04:00:00.000Z', 60],
      ['2026-11-24T08:00:00.000Z', 120],
      ['2026-11-25T00:00:00.000Z', 180],
    ]);
    expect(run.gate(1)).toEqual({ errorRatePercent: 5, responseTimeMs: 5000, complaints: 10 });
  });

  test('thresholds from a baseline: the batches using it judged by its critical maximums under runbooks §3 limits, kept across continue-as-new', () => {
    const mixed = userCutoverInput.parse({
      service: 'portal',
      directory: 'staff',
      router: 'gateway',
      metricSources: ['prom'],
      thresholds: { fromBaseline: 'portal' },
      batches: [
        {
          name: 'a',
          cohort: { department: ['IT'] },
          startAt: '+1h',
          window: '30m',
          thresholds: { errorRatePercent: 7 },
        },
        { name: 'b', cohort: 'rest', startAt: '+3h', window: '30m' },
      ],
    });
    const run = new CutoverRun(mixed, { originMs: origin, runKey: 'k' });
    expect(() => run.gate(1)).toThrow(
      /batch 2\/2 "b": thresholds from baseline of portal were not resolved at the start/,
    );
    const [ref] = baselineRefs(mixed);
    run.thresholdsResolved(
      ref.key,
      {
        gate: { errorRatePercent: 2.5, p95Ms: 640 },
        sources: {},
        description: 'gate from baseline of portal taken 2026-11-20 14:00: errorRatePercent 2.5 %, p95Ms 640 ms',
      },
      ref.batches,
    );
    expect(run.gate(0)).toEqual({ errorRatePercent: 7, responseTimeMs: 5000, complaints: 10 });
    expect(run.gate(1)).toEqual({ errorRatePercent: 2.5, p95Ms: 640, responseTimeMs: 5000, complaints: 10 });
    expect(run.gateOrigin(0)).toBe('');
    expect(run.gateOrigin(1)).toMatch(/^; gate from baseline of portal taken 2026-11-20 14:00/);
    expect(run.status.decisions.at(-1)?.text).toMatch(/p95Ms 640 ms \(for batch 2\/2 "b"\)$/);
    const next = new CutoverRun(mixed, { originMs: 0, runKey: 'other' }, JSON.parse(JSON.stringify(run.carry())));
    expect(next.gate(1)).toEqual(run.gate(1));
    expect(next.status.thresholdsFrom?.[0].batches).toEqual(['b']);
  });

  test('reschedule: by name or number, refused when started, past, within the gap or unknown; each change bumps the schedule', () => {
    const run = fresh();
    expect(reschedule(run, { batch: 'Managers', startAt: '+6h' }, origin)).toMatch(
      /batch 2\/4 "managers" rescheduled to 2026-11-24T06:00:00.000Z/,
    );
    expect(run.scheduleVersion).toBe(1);
    expect(reschedule(run, { batch: 2, startAt: '+1h' }, origin)).toMatch(
      /less than 1h after the batch before it ends \(2026-11-24T01:30:00.000Z\)/,
    );
    expect(reschedule(run, { batch: 3, startAt: '2026-11-23T00:00:00Z' }, origin)).toMatch(/is in the past/);
    expect(reschedule(run, { batch: 9, startAt: '+9h' }, origin)).toMatch(/no batch 9 \(1–4\)/);
    expect(reschedule(run, { batch: 3, startAt: 'later' }, origin)).toMatch(/startAt "later" is neither/);
    run.setBatch(0, 'monitoring', origin + H);
    expect(reschedule(run, { batch: 1, startAt: '+2h' }, origin)).toMatch(/refused: it is monitoring/);
    expect(run.scheduleVersion).toBe(1);
  });

  test('skip: only a batch not started; the gap is counted from the last batch that really ended', () => {
    const run = fresh();
    expect(skip(run, { batch: 'Sales', by: 'ann' })).toBe('batch 3/4 "Sales" skipped by ann');
    expect(skip(run, { batch: 'Sales' })).toMatch(/refused: it is skipped/);
    run.batchEnded(0, origin + 3.5 * H);
    expect(run.startMs(1)).toBe(origin + 4.5 * H);
  });

  test('abort {"all": true} is remembered; moved batches are listed latest first', () => {
    const run = fresh();
    run.status.batches[0].moved = 10;
    run.status.batches[1].moved = 5;
    run.onOperator(run.controls.apply('abort', { by: 'ann', all: true } as never));
    expect(run.abortAll).toBe(true);
    expect(run.movedBatches()).toEqual([1, 0]);
    expect(run.status.decisions.at(-1)?.text).toMatch(/roll back every batch moved so far/);
    const carried = new CutoverRun(input, { originMs: 0, runKey: 'other' }, run.carry());
    expect([carried.originMs, carried.runKey, carried.abortAll, carried.controls.aborted?.by]).toEqual([
      origin,
      'cutover-portal/r1',
      true,
      'ann',
    ]);
  });
});

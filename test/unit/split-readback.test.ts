import { splitMismatches, splitReading } from '../../src/activities/systems/load-balancer/adapter';

/** The read-back rule every LB adapter shares: the whole wanted split, never only the new server's share. */
describe('split read-back', () => {
  const ready = { blue: 'ready', green: 'ready' } as const;

  test('the share counts only servers that take traffic', () => {
    expect(splitReading('edge', 'blue', 'green', { blue: 70, green: 30 }, ready).newPercent).toBe(30);
    expect(
      splitReading('edge', 'blue', 'green', { blue: 70, green: 30 }, { blue: 'maint', green: 'ready' }).newPercent,
    ).toBe(100);
    expect(
      splitReading('edge', 'blue', 'green', { blue: 100, green: 0 }, { blue: 'ready', green: 'drain' }).newPercent,
    ).toBe(0);
  });

  test('nothing taking traffic is refused, retryably, naming both servers: all weights 0, or the only weighted one drained', () => {
    const zero = () => splitReading('edge', 'blue', 'green', { blue: 0, green: 0 }, ready);
    expect(zero).toThrow(
      /load balancer "edge" reads back no server taking traffic: blue weight 0 ready, green weight 0 ready \(a full outage, not a split\)/,
    );
    try {
      zero();
    } catch (err) {
      expect((err as { nonRetryable: boolean }).nonRetryable).toBe(false);
    }
    expect(() =>
      splitReading('edge', 'blue', 'green', { blue: 100, green: 0 }, { blue: 'maint', green: 'ready' }),
    ).toThrow(/blue weight 100 maint, green weight 0 ready/);
  });

  test('a rollback reads back right only with the old server at full weight and ready', () => {
    const want = { old: 'blue', new: 'green', newPercent: 0 };
    expect(splitMismatches(want, splitReading('edge', 'blue', 'green', { blue: 100, green: 0 }, ready))).toEqual([]);
    expect(splitMismatches(want, { newPercent: 0, weights: { blue: 40, green: 0 }, states: ready })).toEqual([
      'blue weight 40 (wanted 100)',
    ]);
    expect(
      splitMismatches(want, {
        newPercent: 0,
        weights: { blue: 100, green: 0 },
        states: { blue: 'drain', green: 'ready' },
      }),
    ).toEqual(['blue is drain (wanted ready, to take 100 %)']);
  });

  test('a step reads back right only with both weights as asked and both servers ready; at 100 % the old one may be anything', () => {
    const want = { old: 'blue', new: 'green', newPercent: 30 };
    expect(splitMismatches(want, { newPercent: 30, weights: { blue: 70, green: 30 }, states: ready })).toEqual([]);
    expect(
      splitMismatches(want, {
        newPercent: 30,
        weights: { blue: 70, green: 30 },
        states: { blue: 'ready', green: 'maint' },
      }),
    ).toEqual(['green is maint (wanted ready, to take 30 %)']);
    expect(
      splitMismatches(
        { ...want, newPercent: 100 },
        { newPercent: 100, weights: { blue: 0, green: 100 }, states: { blue: 'drain', green: 'ready' } },
      ),
    ).toEqual([]);
  });
});

import { MigrationState } from '../../src/workflows/migration/state';
import { verificationFailure, verificationOf } from '../../src/workflows/migration/status';
import type { ChunkCopy, ChunkVerification, MigrationShape } from '../../src/activities/migration';
import { emptyMismatches } from '../../src/domain/migration/plan';

/** The migration's status and carried state, driven the way the workflow drives them, without Temporal. */
describe('migration state', () => {
  const shape: MigrationShape = {
    keyType: 'bigint',
    columns: [{ target: 'user_id', expr: 'id', type: 'bigint' }],
    sameDatabase: true,
  };
  const copy = (chunkNo: number, rows: number, finishedAtMs: number, countedByThisRun = true): ChunkCopy => ({
    chunkNo,
    rows,
    countedByThisRun,
    finishedAtMs,
  });
  const verification = (
    chunkNo: number,
    rows: number,
    finishedAtMs: number,
    diff?: { missing: string[] },
  ): ChunkVerification => ({
    chunkNo,
    sourceRows: rows,
    targetRows: rows - (diff?.missing.length ?? 0),
    sourceChecksum: 'a',
    targetChecksum: diff ? 'b' : 'a',
    match: !diff,
    antiJoinMissing: diff?.missing.length,
    mismatches: diff
      ? {
          chunks: [chunkNo],
          missing: { count: diff.missing.length, keys: diff.missing },
          extra: { count: 0, keys: [] },
          differing: { count: 0, keys: [] },
        }
      : emptyMismatches(),
    finishedAtMs,
  });

  function copying(): MigrationState {
    const st = MigrationState.start({ name: 'users', mode: 'copy' }, 'wf/run-1');
    st.logOpened(7);
    st.checked(shape);
    st.planned({ chunks: 10, chunksDone: 2, rowsPlanned: 1000, rowsDoneBefore: 200, resumed: true });
    st.enter('copying');
    return st;
  }

  describe('pause and resume', () => {
    test('in any order, the last signal wins; duplicates change nothing', () => {
      const st = copying();
      const paused = () => st.view().paused;
      st.controls.resume(); // resume before any pause: nothing to undo
      expect(paused()).toBe(false);
      st.controls.pause();
      st.controls.pause(); // a duplicate pause
      expect(paused()).toBe(true);
      st.controls.resume();
      expect(paused()).toBe(false);
      st.controls.resume(); // a duplicate resume
      expect(paused()).toBe(false);
      st.controls.pause();
      expect(paused()).toBe(true);
      expect(st.carry().status.paused).toBe(true);
    });

    test('the status says who paused and when while paused (what `opsflow status` reads), and drops it on resume, also after continue-as-new', () => {
      const st = copying();
      st.controls.pause({ by: 'bob' }, '2026-12-07T10:02:00.000Z');
      expect(st.view()).toMatchObject({ paused: true, pausedBy: { by: 'bob', at: '2026-12-07T10:02:00.000Z' } });
      const next = MigrationState.restore(JSON.parse(JSON.stringify(st.carry())));
      expect(next.view().pausedBy).toEqual({ by: 'bob', at: '2026-12-07T10:02:00.000Z' });
      next.controls.resume({ by: 'bob' });
      expect(next.view().paused).toBe(false);
      expect(next.view()).not.toHaveProperty('pausedBy');
      expect(MigrationState.restore(JSON.parse(JSON.stringify(next.carry()))).view()).not.toHaveProperty('pausedBy');
    });

    test('the details say paused only while paused', () => {
      const st = copying();
      st.controls.pause();
      expect(st.details()).toMatch(/^\*\*users\*\* — copying \(paused\)/);
      st.controls.resume();
      expect(st.details()).not.toContain('paused');
    });

    test('a pause is carried into the continued run', () => {
      const st = copying();
      st.controls.pause();
      const next = MigrationState.restore(JSON.parse(JSON.stringify(st.carry())));
      expect(next.controls.paused).toBe(true);
      expect(next.view().paused).toBe(true);
      next.controls.resume();
      expect(next.carry().status.paused).toBe(false);
    });

    test('who paused, and when, is carried too: a second pause after continue-as-new is refused naming them', () => {
      const st = copying();
      st.controls.pause({ by: 'bob' }, '2026-12-07T10:02:00.000Z');
      const next = MigrationState.restore(JSON.parse(JSON.stringify(st.carry())));
      expect(next.controls.refusal('pause', { by: 'ann' })).toBe('already paused by bob at 2026-12-07T10:02:00.000Z');
      next.controls.resume({ by: 'bob' });
      expect(
        MigrationState.restore(JSON.parse(JSON.stringify(next.carry()))).controls.refusal('pause', { by: 'ann' }),
      ).toBeUndefined();
    });
  });

  describe('progress arithmetic', () => {
    test('copied rows count only what this run copied, every chunk counts, rate and ETA come from the activities clocks', () => {
      const st = copying();
      st.fetched(
        [
          { no: 2, lo: '200', hi: '300' },
          { no: 3, lo: '300', hi: '400' },
        ],
        10_000,
      );
      st.copied([copy(2, 100, 12_000), copy(3, 100, 11_000, false)]);
      const v = st.view();
      expect(v.chunks).toEqual({ total: 10, copied: 4, verified: 0 });
      expect(v.rows.copied).toBe(100);
      expect(v.rows.copiedBeforeResume).toBe(200);
      // 100 rows in 2 s (the later finish counts, not the last reported); 1000 − 300 rows left.
      expect(v.rowsPerSecond).toBe(50);
      expect(v.etaSeconds).toBe(14);
      expect(st.cursor).toBe(3);
    });

    test('a later fetch does not restart the clock; an empty fetch does not move the cursor', () => {
      const st = copying();
      st.fetched([{ no: 2, lo: null, hi: '1' }], 1_000);
      st.fetched([], 5_000);
      st.copied([copy(2, 300, 4_000)]);
      expect(st.cursor).toBe(2);
      expect(st.view().rowsPerSecond).toBe(100);
    });

    test('no figures before the first finished chunk, nor outside the copy and the verification', () => {
      const st = copying();
      expect(st.view()).toMatchObject({ rowsPerSecond: 0, etaSeconds: null });
      st.fetched([{ no: 2, lo: null, hi: null }], 1_000);
      st.copied([copy(2, 500, 2_000)]);
      st.enter('completed');
      expect(st.view()).toMatchObject({ rowsPerSecond: 0, etaSeconds: null });
    });

    test('verification restarts the lanes and the clock, counts both sides and lists differing chunks in key order', () => {
      const st = copying();
      st.fetched([{ no: 9, lo: '900', hi: null }], 1_000);
      st.copied([copy(9, 100, 50_000)]);
      st.restartLanes();
      expect(st.cursor).toBe(-1);
      st.enter('verifying');
      st.fetched([{ no: 0, lo: null, hi: '100' }], 60_000);
      st.verified(
        [
          verification(5, 100, 61_000, { missing: ['512'] }),
          verification(1, 100, 62_000, { missing: ['101', '150'] }),
          verification(0, 100, 62_000),
        ],
        20,
      );
      const v = st.view();
      expect(v.chunks.verified).toBe(3);
      expect(v.rows).toMatchObject({ verifiedSource: 300, verifiedTarget: 297 });
      expect(v.missingByAntiJoin).toBe(3);
      expect(v.mismatchedChunks).toEqual([1, 5]);
      expect(v.mismatches.missing).toEqual({ count: 3, keys: ['512', '101', '150'] });
      // 300 source rows in 2 s of the verification's own clock, 700 of 1000 left.
      expect(v.rowsPerSecond).toBe(150);
      expect(v.etaSeconds).toBe(5);
      expect(st.remaining('verify')).toBe(7);
      expect(st.remaining('copy')).toBe(7);
      expect(st.details()).toContain('**3 mismatched keys**');
      expect(verificationOf(st.view(), true)).toMatchObject({
        pass: false,
        sourceRows: 300,
        targetRows: 297,
        chunksVerified: 3,
        missingByAntiJoin: 3,
      });
      expect(verificationFailure(st.view())).toBe(
        'verification failed in chunks 1, 5: 3 missing on target (512, 101, 150)',
      );
    });

    test('checksums that differ with no key named still fail, naming the chunks', () => {
      const st = copying();
      st.enter('verifying');
      st.verified([{ ...verification(4, 10, 1), match: false }], 20);
      expect(verificationOf(st.view(), true)?.pass).toBe(false);
      expect(verificationFailure(st.view())).toBe(
        'verification failed: checksums differ in chunks 4 but no key could be named',
      );
    });

    test('a copy without verification has no verification in its result', () => {
      const st = copying();
      expect(verificationOf(st.view(), false)).toBeUndefined();
      expect(st.result(undefined)).toEqual({
        name: 'users',
        mode: 'copy',
        logId: 7,
        rowsCopied: 0,
        chunks: 10,
        resumed: true,
        verification: undefined,
      });
    });
  });

  describe('endings', () => {
    test('an ending outside the copy says in which phase, and the first ending stands', () => {
      const st = MigrationState.start({ name: 'users', mode: 'copy' }, 'wf/run-1');
      expect(st.endedBy('failed', 'source database "nope" is not configured')).toBe(true);
      expect(st.view()).toMatchObject({
        phase: 'failed',
        error: 'preflight: source database "nope" is not configured',
      });
      expect(st.details()).toContain('**preflight: source database "nope" is not configured**');
      expect(st.endedBy('cancelled', 'later')).toBe(false);
      expect(st.view().phase).toBe('failed');
    });

    test('a copy that failed and closed its log keeps its own reason', () => {
      const st = copying();
      st.failed('chunk 3/10: duplicate key');
      st.enter('failed');
      expect(st.endedBy('failed', 'other words')).toBe(false);
      expect(st.view().error).toBe('chunk 3/10: duplicate key');
    });
  });

  describe('continue-as-new carry', () => {
    test('round trip: everything comes back, one generation later, and the copy is independent', () => {
      const st = copying();
      st.fetched([{ no: 2, lo: '200', hi: '300' }], 10_000);
      st.copied([copy(2, 100, 12_000)]);
      const carried = st.carry();
      expect(carried).toMatchObject({
        shape,
        logId: 7,
        runKey: 'wf/run-1',
        cursor: 2,
        phaseStartedAtMs: 10_000,
        lastAtMs: 12_000,
      });
      // It travels as JSON through the server.
      const next = MigrationState.restore(JSON.parse(JSON.stringify(carried)));
      expect(next.view()).toEqual({ ...st.view(), generation: 1 });
      expect(next.carry()).toEqual({
        ...JSON.parse(JSON.stringify(carried)),
        status: { ...carried.status, generation: 1 },
      });
      expect([next.runKey, next.logId, next.shape, next.cursor]).toEqual(['wf/run-1', 7, shape, 2]);
      next.copied([copy(3, 100, 13_000)]);
      expect(st.view().chunks.copied).toBe(3);
      expect(next.view().chunks.copied).toBe(4);
      expect(MigrationState.restore(next.carry()).view().generation).toBe(2);
    });

    test('a run that has not opened its log has nothing to carry', () => {
      expect(() => MigrationState.start({ name: 'users', mode: 'copy' }, 'k').carry()).toThrow(/log is open/);
    });
  });
});

import {
  addMismatches,
  bisectionStep,
  chunksFromBoundaries,
  describeMismatches,
  diffRowHashes,
  emptyMismatches,
  progressFigures,
  chunksPerActivity,
  copyChunksPerActivity,
  verifyChunksPerActivity,
  boundReportKeys,
  reportFromDiff,
  shouldContinueAsNew,
  splitRange,
  splitStep,
  type MismatchReport,
} from '../../src/domain/migration/plan';
import {
  dataMigrationInput,
  mappedColumns,
  runbookExample,
  verificationPredicate,
} from '../../src/domain/migration/input';
import { formatIssues } from '../../src/domain/validation';

describe('chunk planning', () => {
  test('chunks are keyset ranges that cover every key once, open at both ends', () => {
    expect(chunksFromBoundaries(['100', '200', '250'])).toEqual([
      { no: 0, lo: null, hi: '100' },
      { no: 1, lo: '100', hi: '200' },
      { no: 2, lo: '200', hi: null },
    ]);
    expect(chunksFromBoundaries(['7'])).toEqual([{ no: 0, lo: null, hi: null }]);
  });
  test('the last key repeated as a boundary (row count a multiple of the chunk size) makes no empty chunk', () => {
    expect(chunksFromBoundaries(['10', '20', '20'])).toHaveLength(2);
  });
  test('no rows, no chunks', () => {
    expect(chunksFromBoundaries([])).toEqual([]);
  });
});

describe('bisection', () => {
  const s = { rowThreshold: 100, factor: 4 };
  test('equal sums and counts: nothing to do', () => {
    expect(bisectionStep({ rows: 500, sum: '42' }, { rows: 500, sum: '42' }, s)).toBe('equal');
  });
  test('a large differing range is split, a small one compared row by row', () => {
    expect(bisectionStep({ rows: 500, sum: '42' }, { rows: 500, sum: '43' }, s)).toBe('split');
    expect(bisectionStep({ rows: 100, sum: '42' }, { rows: 99, sum: '42' }, s)).toBe('compare-rows');
    expect(bisectionStep({ rows: 500, sum: '1' }, { rows: 500, sum: '2' }, s, false)).toBe('compare-rows');
  });
  test('split ranges are contiguous and cover the parent', () => {
    expect(splitRange({ lo: '0', hi: '100' }, ['25', '50', '75', '100'])).toEqual([
      { lo: '0', hi: '25' },
      { lo: '25', hi: '50' },
      { lo: '50', hi: '75' },
      { lo: '75', hi: '100' },
    ]);
    expect(splitRange({ lo: null, hi: '9' }, [])).toEqual([{ lo: null, hi: '9' }]);
  });
  test('split step cuts into about `factor` parts', () => {
    expect(splitStep(1000, 16)).toBe(63);
    expect(splitStep(3, 16)).toBe(1);
  });
  test('row diff names missing, extra and differing keys', () => {
    const d = diffRowHashes(
      [
        ['1', 'a'],
        ['2', 'b'],
        ['3', 'c'],
      ],
      [
        ['1', 'a'],
        ['3', 'x'],
        ['4', 'd'],
      ],
    );
    expect(d).toEqual({ missing: ['2'], extra: ['4'], differing: ['3'] });
  });
});

describe('mismatch reports', () => {
  test('counts every key but lists at most the limit; message names chunks and keys', () => {
    const a = reportFromDiff(3, { missing: ['7'], extra: [], differing: ['9', '10', '11'] }, 2);
    expect(a.differing).toEqual({ count: 3, keys: ['9', '10'] });
    const merged = addMismatches(
      addMismatches(emptyMismatches(), 3, a, 2),
      5,
      reportFromDiff(5, { missing: ['70'], extra: [], differing: [] }, 2),
      2,
    );
    expect(merged.chunks).toEqual([3, 5]);
    expect(merged.missing).toEqual({ count: 2, keys: ['7', '70'] });
    expect(describeMismatches(merged)).toBe(
      'verification failed in chunks 3, 5: 2 missing on target (7, 70); 3 differing (9, 10, …)',
    );
  });
  test('chunks are listed in key order whatever order they finish in', () => {
    const found = (no: number) => reportFromDiff(no, { missing: [String(no)], extra: [], differing: [] }, 5);
    const r = [9, 2, 5].reduce((acc, no) => addMismatches(acc, no, found(no), 5), emptyMismatches());
    expect(r.chunks).toEqual([2, 5, 9]);
  });
  test('a clean chunk adds nothing', () => {
    expect(
      addMismatches(emptyMismatches(), 1, reportFromDiff(1, { missing: [], extra: [], differing: [] }, 5), 5),
    ).toEqual(emptyMismatches());
  });
});

describe('progress and history', () => {
  test('rows/s and ETA from activity clocks', () => {
    expect(progressFigures({ rows: 1000, startedAtMs: 0, lastAtMs: 2000, rowsTotal: 3000, rowsDone: 1000 })).toEqual({
      rowsPerSecond: 500,
      etaSeconds: 4,
    });
    expect(progressFigures({ rows: 0, rowsTotal: 10, rowsDone: 0 })).toEqual({ rowsPerSecond: 0, etaSeconds: null });
  });
  test('several chunks per activity while much remains, one at the end', () => {
    expect(chunksPerActivity(100, 4)).toBe(4);
    expect(chunksPerActivity(40, 4)).toBe(2);
    expect(chunksPerActivity(15, 4)).toBe(1);
    expect(chunksPerActivity(0, 4)).toBe(1);
  });
  test("an activity's chunk reports list keys only until the report's limit of each kind, every count kept", () => {
    const report = (no: number, missing: string[], count: number, extra: string[] = []): MismatchReport => ({
      chunks: [no],
      missing: { count, keys: missing },
      extra: { count: extra.length, keys: extra },
      differing: { count: 0, keys: [] },
    });
    const bounded = boundReportKeys(
      [report(0, ['1', '2'], 5), report(1, ['30', '31'], 2, ['33']), report(2, ['50'], 1, ['51', '52'])],
      2,
    );
    expect(bounded.map((r) => [r.chunks, r.missing, r.extra])).toEqual([
      [[0], { count: 5, keys: ['1', '2'] }, { count: 0, keys: [] }],
      [[1], { count: 2, keys: [] }, { count: 1, keys: ['33'] }],
      [[2], { count: 1, keys: [] }, { count: 2, keys: ['51'] }],
    ]);
    // What the workflow's running report lists is the same with or without the bound.
    const merge = (rs: MismatchReport[]) =>
      rs.reduce((acc, r) => addMismatches(acc, r.chunks[0], r, 2), emptyMismatches());
    const raw = [report(0, ['1', '2'], 5), report(1, ['30', '31'], 2, ['33']), report(2, ['50'], 1, ['51', '52'])];
    expect(merge(boundReportKeys(raw, 2))).toEqual(merge(raw));
  });
  test('verification takes an even share of what remains per lane, up to 32 chunks, at least one', () => {
    expect(verifyChunksPerActivity(100, 4)).toBe(25);
    expect(verifyChunksPerActivity(101, 4)).toBe(26);
    expect(verifyChunksPerActivity(1000, 4)).toBe(32);
    expect(verifyChunksPerActivity(3, 4)).toBe(1);
    expect(verifyChunksPerActivity(0, 4)).toBe(1);
    expect(verifyChunksPerActivity(10, 1)).toBe(10);
  });
  test('a copy takes an even share of what remains per lane, up to 8 chunks, at least one', () => {
    expect(copyChunksPerActivity(100, 4)).toBe(8);
    expect(copyChunksPerActivity(30, 4)).toBe(8);
    expect(copyChunksPerActivity(20, 4)).toBe(5);
    expect(copyChunksPerActivity(3, 4)).toBe(1);
    expect(copyChunksPerActivity(0, 4)).toBe(1);
    expect(copyChunksPerActivity(4, 1)).toBe(4);
  });
  test('continue-as-new after the configured chunks or when the server suggests it', () => {
    expect(shouldContinueAsNew(199, 200, false)).toBe(false);
    expect(shouldContinueAsNew(200, 200, false)).toBe(true);
    expect(shouldContinueAsNew(3, 200, true)).toBe(true);
  });
});

describe('migration input', () => {
  test('the runbook example parses with the defaults of the issue', () => {
    const spec = dataMigrationInput.parse(runbookExample);
    expect(spec).toMatchObject({
      chunkSize: 10_000,
      parallelism: 4,
      mode: 'copy',
      verify: true,
      stateSchema: 'public',
    });
    expect(mappedColumns(spec)[0]).toEqual({ target: 'user_id', expr: 'id' });
    expect(verificationPredicate(spec)).toBe('flag');
  });
  test('a key given as one name is the same column on both sides, added to the mapping', () => {
    const spec = dataMigrationInput.parse({ ...runbookExample, key: 'id', columns: { name: 'login_name' } });
    expect(mappedColumns(spec)).toEqual([
      { target: 'id', expr: 'id' },
      { target: 'name', expr: 'login_name' },
    ]);
  });
  test.each([
    [{ source: { database: 'app', table: 'old_users; drop table x' } }, 'source.table'],
    [{ columns: { 'user name': 'login_name' } }, 'columns.user name'],
    [{ columns: { ...runbookExample.columns, email: 'lower(email_address); delete from old_users' } }, 'columns.email'],
    [{ columns: { ...runbookExample.columns, email: 'email_address -- hide' } }, 'columns.email'],
    [{ columns: { ...runbookExample.columns, user_id: 'id + 1' } }, 'columns.user_id'],
    [{ chunkSize: 0 }, 'chunkSize'],
    [{ mode: 'move' }, 'mode'],
    [{ filter: undefined }, 'filter'],
    [{ source: { database: 'no such db!', table: 'old_users' } }, 'source.database'],
  ])('bad input %# names its field', (patch, field) => {
    const r = dataMigrationInput.safeParse({ ...runbookExample, ...patch });
    expect(r.success).toBe(false);
    if (!r.success) expect(formatIssues(r.error)).toContain(`${field}:`);
  });
});

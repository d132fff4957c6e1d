import { DiagnosticsState } from '../../src/workflows/diagnostics/state';
import type { PostgresFindings } from '../../src/domain/diagnostics/findings';

const findings: PostgresFindings = {
  database: 'app',
  sessions: [],
  slowStatements:
    'pg_stat_statements is not available: the extension is not created in database app (CREATE EXTENSION pg_stat_statements)',
  tables: [{ table: 'public.t', rows: 10, table_bytes: 2 ** 20, index_bytes: 0, total_bytes: 2 ** 20 }],
  indexes: [],
  unusedIndexes: [{ index: 'public.t_a', table: 'public.t', scans: 3, bytes: 8192 }],
};

describe('diagnostics run state and report', () => {
  test('parts arrive in any order; the report keeps postgres before host and says why a part is missing', () => {
    const s = new DiagnosticsState({ postgres: 'app', host: true });
    s.gotHost({ ok: false, error: 'systeminformation: permission denied' });
    s.gotPostgres({ ok: true, findings });
    expect(s.status.collected).toEqual({ host: 'failed', 'postgres:app': 'ok' });
    const r = s.finish('2026-11-24T03:00:00.000Z');
    expect(s.status.phase).toBe('done');
    expect(r.markdown.indexOf('## PostgreSQL app')).toBeLessThan(r.markdown.indexOf('## Host'));
    expect(r.markdown).toContain('## Host\n\n**Could not be collected:** systeminformation: permission denied');
    expect(r.markdown).toContain('\npg_stat_statements is not available: the extension is not created in database app');
    expect(r.markdown).toContain('| public.t_a | public.t | 3 | 0.0 MB |');
  });

  test('a query text with pipes and newlines stays in its table cell', () => {
    const s = new DiagnosticsState({ postgres: 'app', host: false });
    s.gotPostgres({
      ok: true,
      findings: { ...findings, slowStatements: [{ query: 'SELECT a || b\nFROM t', calls: 1, mean_ms: 120 }] },
    });
    expect(s.finish('t').markdown).toContain('| 120 ms | 1 | SELECT a \\|\\| b FROM t |');
  });

  test('an ended run keeps its failure and says so in its details', () => {
    const s = new DiagnosticsState({ host: true });
    expect(s.ended('cancelled', 'cancelled by ops')).toBe('diagnostics cancelled');
    expect(s.status).toMatchObject({ phase: 'cancelled', failure: 'cancelled by ops' });
    expect(s.details()).toBe('**diagnostics cancelled** — cancelled by ops');
  });
});

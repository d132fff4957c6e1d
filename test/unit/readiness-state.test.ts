import { ReadinessRun, itemVerdict } from '../../src/workflows/readiness/state';
import { renderReadinessReport } from '../../src/workflows/readiness/report';
import { fromEvidence, checkError } from '../../src/domain/readiness/evidence';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const ev = (ok: boolean) => ({
  what: 'days to expiry',
  value: ok ? '90 days' : '3 days',
  threshold: '> 14 days',
  target: 'shop:443',
  at: iso(T0),
  ok,
});

function gate() {
  const run = new ReadinessRun('shop', 'go-live');
  run.load(
    [
      { id: 'tls', check: 'tls', description: 'certificate' },
      { id: 'dns', check: 'dns', description: 'dns' },
      { id: 'training', check: 'signOff', description: 'on-call trained' },
    ],
    iso(T0 + 3_600_000),
  );
  return run;
}

describe('readiness gate state', () => {
  test('not ready until every automated item passes and every human item is signed', () => {
    const run = gate();
    expect(run.evaluate(T0)).toBe(false);
    expect(run.status.blocking).toEqual(['tls', 'dns', 'training']);
    run.checked(fromEvidence('tls', [ev(true)]));
    run.checked(fromEvidence('dns', [ev(true)]));
    expect(run.evaluate(T0)).toBe(false);
    expect(run.status.blocking).toEqual(['training']);
    run.signOff({ item: 'training', by: 'alice', note: 'done 2026-01-01' }, iso(T0));
    expect(run.evaluate(T0)).toBe(true);
    expect(run.status.items.map((i) => i.verdict)).toEqual(['passed', 'passed', 'signed']);
  });

  test('a failed or errored check blocks; a waiver covers it until its time, then it blocks again and the report says the waiver expired', () => {
    const run = gate();
    run.checked(fromEvidence('tls', [ev(false)]));
    run.checked(checkError('dns', 'resolver 127.0.0.1:53: ETIMEOUT'));
    run.signOff({ item: 'training', by: 'alice' }, iso(T0));
    expect(run.evaluate(T0)).toBe(false);
    expect(run.status.items.map((i) => i.verdict)).toEqual(['failed', 'error', 'signed']);
    run.waive({ item: 'tls', by: 'bob', reason: 'renewal booked', until: iso(T0 + 60_000) }, T0);
    run.waive({ item: 'dns', by: 'bob', reason: 'resolver moving', until: iso(T0 + 120_000) }, T0);
    expect(run.evaluate(T0 + 1)).toBe(true);
    expect(run.nextWaiverExpiry()).toBe(T0 + 60_000);
    expect(run.evaluate(T0 + 60_000)).toBe(false);
    expect(run.status.blocking).toEqual(['tls']);
    expect(run.nextWaiverExpiry()).toBe(T0 + 120_000);
    const report = renderReadinessReport(run.status);
    expect(report).toContain('waiver by bob EXPIRED at 2026-01-01T00:01:00.000Z');
    expect(report).toContain('✗ days to expiry of shop:443: 3 days (needs > 14 days)');
    expect(run.status.decisions).toContain('waiver of tls by bob expired at 2026-01-01T00:01:00.000Z');
  });

  test('sign-offs and waivers are validated against the checklist, naming the field', () => {
    const run = gate();
    expect(() => run.validateSignOff({ item: 'tls', by: 'alice' })).toThrow(
      'item: "tls" is an automated tls check; it passes by its evidence or is waived, not signed',
    );
    expect(() => run.validateSignOff({ item: 'nope', by: 'alice' })).toThrow(
      'item: "nope" is not in checklist go-live (items: tls, dns, training)',
    );
    expect(() => run.validateWaiver({ item: 'tls', by: 'bob', reason: 'x', until: iso(T0) }, T0)).toThrow(
      'until: 2026-01-01T00:00:00.000Z is not in the future',
    );
    run.evaluate(T0);
    run.finish('deadline');
    expect(() => run.validateSignOff({ item: 'training', by: 'alice' })).toThrow('gate of shop is closed (not-ready)');
  });

  test('an item with no result yet is pending, never passed', () => {
    const run = gate();
    expect(itemVerdict(run.status.items[0], T0)).toBe('pending');
  });
});

import { whyUnverified, type BackupSetState, type CopyState } from '../backup/copy-state';
import type { Evidence } from './evidence';

const hoursOld = (c: CopyState, nowMs: number) => Math.round(((nowMs - c.takenAtMs) / 3_600_000) * 10) / 10;

/** What proved a copy, in words: each artifact's drill (restore time, tables, rows) or tar listing, and when. */
function proof(c: CopyState): string {
  return c.artifacts
    .map((a) => {
      if (a.state !== 'verified') return `${a.file}: ${a.state}`;
      if (a.drill) return `${a.file}: restore drill passed ${a.verifiedAt} (restored in ${a.drill.restoreSeconds} s, ${a.drill.tables} tables, ${a.drill.rows} rows)`;
      return `${a.file}: ${a.how} passed ${a.verifiedAt}`;
    })
    .join('; ');
}

/**
 * The readiness item `backup`: the set's newest verified copy (every artifact proved by its drill or
 * tar listing, and still on disk) is younger than `maxAgeHours`. A newer copy that is not verified
 * does not count, as for the health check's backup age, but its reason (a failed drill) is shown.
 */
export function backupEvidence(set: string, s: BackupSetState, nowMs: number, maxAgeHours: number, at: string): Evidence[] {
  const newer = s.newest && s.newest.name !== s.newestVerified?.name ? `; newest copy ${s.newest.name} ${whyUnverified(s.newest)}` : '';
  const v = s.newestVerified;
  if (!v) {
    const seen = s.copies === 0 ? `no copy in ${s.destination}` : `${s.copies} ${s.copies === 1 ? 'copy' : 'copies'}, none verified`;
    return [{ what: 'newest verified copy', value: `no verified copy at all (${seen})${newer}`, threshold: `restore drill passed, < ${maxAgeHours} h old`, target: `backup set ${set}`, at, ok: false }];
  }
  const hours = hoursOld(v, nowMs);
  return [
    { what: 'newest verified copy', value: `${v.name} is ${hours} h old${newer}`, threshold: `< ${maxAgeHours} h old`, target: v.path, at, ok: nowMs - v.takenAtMs < maxAgeHours * 3_600_000 },
    { what: 'verification', value: proof(v), threshold: 'every artifact verified (a dump by its restore drill)', target: v.path, at, ok: true },
  ];
}

import { copyAgeHours } from '../backup/age';
import {
  copiesText,
  corruptSinceVerified,
  whyUnverified,
  type BackupSetState,
  type CopyState,
} from '../backup/copy-state';
import type { Evidence } from './evidence';

/** What proved a copy, in words: each artifact's drill (restore time, tables, rows) or tar listing, and when. */
function proof(c: CopyState): string {
  return c.artifacts
    .map((a) => {
      if (a.state !== 'verified') return `${a.file}: ${a.state}`;
      if (a.drill)
        return `${a.file}: restore drill passed ${a.verifiedAt} (restored in ${a.drill.restoreSeconds} s, ${a.drill.tables} tables, ${a.drill.rows} rows)`;
      return `${a.file}: ${a.how} passed ${a.verifiedAt}`;
    })
    .join('; ');
}

/**
 * The readiness item `backup`: the set's newest verified copy (every artifact proved by its drill or
 * tar listing, and still on disk with the sha256 it was proved with) is younger than `maxAgeHours`.
 * A newer copy that is not verified does not count, as for the health check's backup age, but its
 * reason (a failed drill, a file corrupt since verified) is shown, and so is every other corrupt copy.
 */
export function backupEvidence(
  set: string,
  s: BackupSetState,
  nowMs: number,
  maxAgeHours: number,
  at: string,
): Evidence[] {
  const newestUnverified = s.newest && s.newest.name !== s.newestVerified?.name ? s.newest : undefined;
  const corrupt = corruptSinceVerified(s.corrupt.filter((c) => c.name !== newestUnverified?.name));
  const newer =
    (newestUnverified ? `; newest copy ${newestUnverified.name} ${whyUnverified(newestUnverified)}` : '') +
    (corrupt ? `; ${corrupt}` : '');
  const v = s.newestVerified;
  if (!v) {
    const seen = s.copies === 0 ? `no copy in ${s.destination}` : `${copiesText(s.copies)}, none verified`;
    return [
      {
        what: 'newest verified copy',
        value: `no verified copy at all (${seen})${newer}`,
        threshold: `restore drill passed, < ${maxAgeHours} h old`,
        target: `backup set ${set}`,
        at,
        ok: false,
      },
    ];
  }
  return [
    {
      what: 'newest verified copy',
      value: `${v.name} is ${copyAgeHours(v.name, nowMs)} h old${newer}`,
      threshold: `< ${maxAgeHours} h old`,
      target: v.path,
      at,
      ok: nowMs - v.takenAtMs < maxAgeHours * 3_600_000,
    },
    {
      what: 'verification',
      value: proof(v),
      threshold: 'every artifact verified (a dump by its restore drill)',
      target: v.path,
      at,
      ok: true,
    },
  ];
}

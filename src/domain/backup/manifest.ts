/** What a backup writes next to each artifact and what the drill proves against it. */

/** One table's row count and an order-independent checksum of its rows, read in the dump's snapshot. */
export interface TableFingerprint {
  rows: number;
  checksum: string;
}

export interface ArtifactManifest {
  kind: 'postgres' | 'app-tree' | 'config-files';
  /** The file, relative to the copy's folder. */
  file: string;
  bytes: number;
  sha256: string;
  startedAt: string;
  durationMs: number;
  /** postgres: the config target, its database, the dump format and every table's fingerprint. */
  database?: {
    target: string;
    name: string;
    format: 'custom' | 'sql.gz';
    snapshot: string;
    tables: Record<string, TableFingerprint>;
  };
  /** tars: what went in, and what was left out. */
  sources?: string[];
  excluded?: string[];
}

/** What a passed drill leaves in a copy's folder (`verified.json`): what made it a verified copy. */
export interface DrillRecord {
  database: string;
  file: string;
  sha256: string;
  bytes: number;
  tables: number;
  rows: number;
  restoreSeconds: number;
  verifiedAt: string;
}

/** The differences between the tables a dump should hold and those a restore produced, in words. */
export function compareTables(
  expected: Record<string, TableFingerprint>,
  actual: Record<string, TableFingerprint>,
): string[] {
  const out: string[] = [];
  for (const [table, e] of Object.entries(expected)) {
    const a = actual[table];
    if (!a) out.push(`${table}: missing from the restore`);
    else if (a.rows !== e.rows) out.push(`${table}: ${a.rows} rows restored, ${e.rows} dumped`);
    else if (a.checksum !== e.checksum)
      out.push(`${table}: checksum differs (${a.checksum} restored, ${e.checksum} dumped)`);
  }
  for (const table of Object.keys(actual))
    if (!(table in expected)) out.push(`${table}: in the restore but not in the manifest`);
  return out;
}

/** A copy's folder name: the run's start, `20261124T031500Z`; sorts by time. */
export function copyStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
export const COPY_STAMP = /^\d{8}T\d{6}Z$/;

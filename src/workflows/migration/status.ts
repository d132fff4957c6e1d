// Why: the shapes an operator and a continued run see (the `status` query, the result, the carried
// state) are part of the workflow's contract; they sit apart from the code that changes them, with
// the verdict read from them.
import type { Actor } from '../common/operator-carry';
import type { DryRunPlan, MigrationShape } from '../../activities/migration';
import type { MigrationSpec } from '../../domain/migration/input';
import { describeMismatches, mismatchCount, type MismatchReport } from '../../domain/migration/plan';

export type MigrationPhase = 'preflight' | 'planning' | 'copying' | 'verifying' | 'completed' | 'failed' | 'cancelled';

export interface MigrationStatus {
  name: string;
  mode: MigrationSpec['mode'];
  phase: MigrationPhase;
  paused: boolean;
  /** Who paused the run and when, while it is paused. */
  pausedBy?: Actor;
  /** What the run was told and did not act on (a signal it does not know), newest last. */
  decisions?: string[];
  /** Continue-as-new generation of this run (0 for the first history). */
  generation: number;
  logId?: number;
  chunks: { total: number; copied: number; verified: number };
  rows: { planned: number; copied: number; copiedBeforeResume: number; verifiedSource: number; verifiedTarget: number };
  /** Same database: source rows without a target row, by the runbook's anti-join (run on differing chunks). */
  missingByAntiJoin: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  /** Differing keys found so far (counts of all, the first `reportKeys` of each kind). */
  mismatches: MismatchReport;
  /** Chunks whose checksums differed, whether or not keys could be named. */
  mismatchedChunks: number[];
  resumed: boolean;
  error?: string;
}

/** What a run carries into its continued-as-new successor: small, whatever the table's size. */
export interface MigrationCarry {
  status: MigrationStatus;
  shape: MigrationShape;
  logId: number;
  runKey: string;
  cursor: number;
  phaseStartedAtMs?: number;
  lastAtMs?: number;
  /** Who paused and when, so "already paused by … at …" outlives continue-as-new. */
  pausedBy?: Actor;
}

export interface MigrationVerification {
  pass: boolean;
  sourceRows: number;
  targetRows: number;
  chunksVerified: number;
  missingByAntiJoin: number;
  mismatches: MismatchReport;
}

/** The verification's outcome when this run verified, undefined when it only copied. */
export function verificationOf(status: MigrationStatus, verified: boolean): MigrationVerification | undefined {
  if (!verified) return undefined;
  return {
    pass: status.mismatchedChunks.length === 0,
    sourceRows: status.rows.verifiedSource,
    targetRows: status.rows.verifiedTarget,
    chunksVerified: status.chunks.verified,
    missingByAntiJoin: status.missingByAntiJoin,
    mismatches: status.mismatches,
  };
}

/** Why a verification failed, naming keys when the bisection found them and chunks otherwise. */
export function verificationFailure(status: MigrationStatus): string {
  return mismatchCount(status.mismatches) > 0
    ? describeMismatches(status.mismatches)
    : `verification failed: checksums differ in chunks ${status.mismatchedChunks.join(', ')} but no key could be named`;
}

export interface MigrationResult {
  name: string;
  mode: MigrationSpec['mode'];
  logId?: number;
  rowsCopied: number;
  chunks: number;
  resumed: boolean;
  verification?: MigrationVerification;
  dryRun?: DryRunPlan;
}

// Why: what every automated readiness check returns, so the report can show the facts behind each
// verdict (the complaint about cached boolean scorecards is that they cannot).

type CheckOutcome = 'pass' | 'fail' | 'error';

/** One fact a check measured: what it looked at, what it found, what it had to be, and when. */
export interface Evidence {
  what: string;
  /** What the check found (`"expires in 3 days"`, `"10.0.0.9"`, `"401"`). */
  value: string;
  /** What it had to be (`"> 14 days"`, `"10.0.0.1"`, `"200"`). */
  threshold: string;
  /** The system looked at (`"shop.example:443"`). */
  target: string;
  /** ISO time of the observation. */
  at: string;
  ok: boolean;
}

export interface CheckResult {
  item: string;
  /** `error`: the check could not be made (unreachable resolver, bad answer); `fail`: made, and not met. */
  outcome: CheckOutcome;
  message: string;
  evidence: Evidence[];
  checkedAt: string;
}

/** The outcome of a set of facts: every one met is a pass. */
export function fromEvidence(item: string, evidence: Evidence[], checkedAt = new Date().toISOString()): CheckResult {
  const failed = evidence.filter((e) => !e.ok);
  return {
    item,
    outcome: failed.length === 0 ? 'pass' : 'fail',
    message:
      failed.length === 0
        ? `${evidence.length} of ${evidence.length} met`
        : failed.map((e) => `${e.what}: ${e.value} (needs ${e.threshold})`).join('; '),
    evidence,
    checkedAt,
  };
}

/** A check that could not be made: no evidence, the reason. */
export function checkError(item: string, message: string, checkedAt = new Date().toISOString()): CheckResult {
  return { item, outcome: 'error', message, evidence: [], checkedAt };
}

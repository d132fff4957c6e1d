/**
 * When a host is healthy after a switch. The runbook's "5 attempts, 10 s apart" is the budget to
 * become healthy, not the proof: a release answering 503 on every other request passes a check
 * that stops at its first 200. So a host is healthy only after `passes` consecutive passes within
 * `attempts`; a pass followed by a failure is a flap, and is named as one.
 */

export interface HealthPolicy {
  /** Requests at most (the budget). */
  attempts: number;
  /** Consecutive passes that make the host healthy. */
  passes: number;
}

export interface HealthProbe {
  pass: boolean;
  /** What came back, in words: "HTTP 503", "connect ECONNREFUSED …". */
  what: string;
}

export type HealthJudgement =
  | { verdict: 'healthy' }
  | { verdict: 'continue' }
  | {
      verdict: 'unhealthy';
      /** "health check failed after 4 attempts: flapping (…)", for the host's failure. */
      reason: string;
      /** A pass then a failure: the release itself is unstable, not just slow to start. */
      flapping: boolean;
    };

/** Passes needed beyond the attempt budget can never come: refused before any host is touched. */
export function healthPolicyProblem(p: HealthPolicy): string | undefined {
  if (p.passes > p.attempts)
    return `${p.attempts} attempts can never give the ${p.passes} consecutive passes a healthy host needs`;
  return undefined;
}

/**
 * Judges the probes so far: healthy at `passes` consecutive passes; unhealthy as soon as the
 * attempts left cannot reach them (no request is sent that could not change the verdict).
 */
export function judgeHealth(probes: readonly HealthProbe[], p: HealthPolicy): HealthJudgement {
  let streak = 0;
  for (let i = probes.length - 1; i >= 0 && probes[i].pass; i--) streak++;
  if (streak >= p.passes) return { verdict: 'healthy' };
  const left = p.attempts - probes.length;
  if (streak + left >= p.passes) return { verdict: 'continue' };
  const n = probes.length;
  const after = `health check failed after ${n} attempt${n === 1 ? '' : 's'}`;
  const last = probes[n - 1]?.what ?? 'no answer';
  const flap = probes.findIndex((x, i) => i > 0 && probes[i - 1].pass && !x.pass);
  if (flap < 0) return { verdict: 'unhealthy', flapping: false, reason: `${after} (${last})` };
  const passed = probes.filter((x) => x.pass).length;
  return {
    verdict: 'unhealthy',
    flapping: true,
    reason:
      `${after}: flapping (${probes[flap - 1].what} at attempt ${flap}, then ${probes[flap].what} at attempt ${flap + 1}; ` +
      `${passed} of ${n} passed, ${p.passes} consecutive needed)`,
  };
}

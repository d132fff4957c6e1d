/**
 * The failed hosts of a stopped deploy as one line for its failure message: the budget says how
 * many failed, this says which, at what step, and why (the first line of the cause), so the run's
 * own failure names the cause without anyone opening the activity events.
 */

export interface FailedHost {
  host: string;
  /** The step the host failed at: "build", "migrate", "health check", … */
  step?: string;
  /** The host's failure, in words (may be many lines: a command's stderr). */
  error: string;
}

/** A cause's first line is bounded: a command's output must not become the whole message. */
export const CAUSE_MAX = 240;
/** Hosts named at most; the rest are counted (the status names every one). */
const HOSTS_MAX = 5;

/** The first non-empty line, at most `max` characters ("…" when cut). */
export function firstLine(text: string, max = CAUSE_MAX): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** "h1 (health check): health check failed after 5 attempts (HTTP 503); h3 (build): install (…) exited 7: …". */
export function failedHostsText(service: string, hosts: readonly FailedHost[]): string {
  const one = (h: FailedHost) => {
    // The step's own words start with the host ("shop/web1: …", "web1: …"): said once, in front.
    const cause = h.error.replace(new RegExp(`^(${escape(service)}/)?${escape(h.host)}: `), '');
    return `${h.host}${h.step ? ` (${h.step})` : ''}: ${firstLine(cause)}`;
  };
  const named = hosts.slice(0, HOSTS_MAX).map(one);
  if (hosts.length > HOSTS_MAX) named.push(`and ${hosts.length - HOSTS_MAX} more (see status)`);
  return named.join('; ');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

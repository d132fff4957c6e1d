/**
 * Where each user's system is set. Every call takes one chunk (thousands of users) and reports
 * counts; the ids come from the cutover store, never from workflow history. Each kind is one file.
 */
/** What a chunk's writes read back as: how many hold what was written, and up to 5 users that do not. */
export interface RouteResult {
  verified: number;
  missed: string[];
}

/** Users named in a message about writes that did not read back. */
export const MISSED_EXAMPLES = 5;

export interface Router {
  /** The systems the router knows as old and new (`old_system`, `new_system`). */
  systems: { old: string; new: string };
  /** false for an API that cannot be read back (`readBack: false`): `read` then knows nothing. */
  readable: boolean;
  /** Each user's current system, `null` where none is set (the gateway's default applies). */
  read(ids: string[]): Promise<(string | null)[]>;
  /** Sets every user to `system`; returns how many read back as set, naming some that did not. */
  write(ids: string[], system: string): Promise<RouteResult>;
  /** Puts back each user's prior route (`null`: no route of its own); returns how many read back as restored. */
  restore(ids: string[], priors: (string | null)[]): Promise<RouteResult>;
  close(): Promise<void>;
}

/** The result of reading back `ids` as `got`, each expected to be `want(i)`. */
export function readBackResult(
  ids: readonly string[],
  got: readonly (string | null)[],
  want: (i: number) => string | null,
): RouteResult {
  let verified = 0;
  const missed: string[] = [];
  ids.forEach((id, i) => {
    if (got[i] === want(i)) verified++;
    else if (missed.length < MISSED_EXAMPLES) missed.push(id);
  });
  return { verified, missed };
}

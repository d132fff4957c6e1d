/**
 * Where each user's system is set. Every call takes one chunk (thousands of users) and reports
 * counts; the ids come from the cutover store, never from workflow history. Each kind is one file.
 */
export interface Router {
  /** The systems the router knows as old and new (`old_system`, `new_system`). */
  systems: { old: string; new: string };
  /** false for an API that cannot be read back (`readBack: false`): `read` then knows nothing. */
  readable: boolean;
  /** Each user's current system, `null` where none is set (the gateway's default applies). */
  read(ids: string[]): Promise<(string | null)[]>;
  /** Sets every user to `system`; returns how many read back as set. */
  write(ids: string[], system: string): Promise<number>;
  /** Puts back each user's prior route (`null`: no route of its own); returns how many read back as restored. */
  restore(ids: string[], priors: (string | null)[]): Promise<number>;
  close(): Promise<void>;
}

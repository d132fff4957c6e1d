// Why: every long run keeps a record of what it decided for people, bounded so a long run's status
// (and the state it carries across continue-as-new) stays small; one implementation for all.

/** Appends `entry` and drops the oldest entries beyond `max`; the array itself is kept (it may be shared). */
export function appendBounded<T>(list: T[], entry: T, max: number): void {
  list.push(entry);
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * A bounded log over a plain array: the array is the state (it sits in the run's status and is
 * carried across continue-as-new as it is), this class only adds to it.
 */
export class DecisionLog<E> {
  constructor(
    readonly entries: E[],
    readonly max: number,
  ) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`DecisionLog max must be a positive integer (got ${max})`);
  }

  add(entry: E): void {
    appendBounded(this.entries, entry, this.max);
  }
}

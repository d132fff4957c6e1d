import { z } from 'zod';
import { nonEmpty } from '../fields';

/** A filter field as the directory knows it (`department`, `role`): a column or an API field name. */
export const filterField = z
  .string()
  .regex(/^[a-z][A-Za-z0-9_]{0,62}$/, 'a field name: a lower-case letter, then letters, digits or "_"');

/**
 * Who a batch moves: every user whose field is one of the listed values, for every field listed
 * (`{"department": ["IT"]}`, `{"department": ["HR"], "role": ["manager"]}`), or `"rest"`: everyone
 * the directory lists who no earlier batch moved.
 */
const cohortFilter = z
  .record(filterField, z.array(nonEmpty.max(200)).min(1, 'name at least one value').max(1_000))
  .refine((f) => Object.keys(f).length > 0, 'name at least one field, or use "rest"');
export const cohort = z.union([z.literal('rest'), cohortFilter], {
  error: () => 'a filter such as {"department": ["IT"]} or "rest"',
});
export type CohortFilter = z.infer<typeof cohortFilter>;
export type Cohort = z.infer<typeof cohort>;

/**
 * Whether two explicit cohorts name the same users by their filters alone: they constrain the same
 * fields and share a value in each (`department IT` and `department IT, Sales`). Cohorts over
 * different fields (`department IT`, `role manager`) cross by design: an IT manager is moved by
 * whichever batch comes first, and the later snapshot excludes them.
 */
export function cohortsOverlap(a: CohortFilter, b: CohortFilter): boolean {
  const fa = Object.keys(a).sort();
  const fb = Object.keys(b).sort();
  if (fa.join('\0') !== fb.join('\0')) return false;
  return fa.every((f) => a[f].some((v) => b[f].includes(v)));
}

/** `department in (IT)`, `everyone not moved yet`: for summaries and messages. */
export function describeCohort(c: Cohort): string {
  if (c === 'rest') return 'everyone not moved by an earlier batch';
  return Object.entries(c)
    .map(([f, vs]) => (vs.length === 1 ? `${f} = ${vs[0]}` : `${f} in (${vs.join(', ')})`))
    .join(' and ');
}

/** The fields a cohort filters on, for the check against the directory's configured fields. */
export const cohortFields = (c: Cohort): string[] => (c === 'rest' ? [] : Object.keys(c));

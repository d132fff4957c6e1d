/**
 * A name an input uses that the operator config does not define. The CLI checks an input's names
 * against the config it has before starting anything, so a typo is refused with exit 2 instead of
 * failing minutes later in the worker's planning step.
 */
export interface UnknownName {
  /** The input field that uses the name, as a path: `metricSources.1`. */
  field: string;
  name: string;
  /** What the name should be, with its article: "a load balancer". */
  what: string;
  /** The names the config has for it. */
  known: string[];
}

/** The names of `names` (used at `field`, or `field.i` for a list) that `known` lacks. */
export function unknownNames(
  field: string,
  names: string | readonly string[] | undefined,
  known: Record<string, unknown> | readonly string[],
  what: string,
): UnknownName[] {
  if (names === undefined) return [];
  const have = Array.isArray(known) ? [...known] : Object.keys(known);
  const list = typeof names === 'string' ? [[field, names]] : names.map((n, i) => [`${field}.${i}`, n]);
  return list.filter(([, n]) => !have.includes(n)).map(([f, n]) => ({ field: f, name: n, what, known: have }));
}

/** `lb: "edge2" is not a load balancer in opsflow.config.yaml (known: edge, web)`. */
export function describeUnknownName(u: UnknownName, configName: string): string {
  return `${u.field}: "${u.name}" is not ${u.what} in ${configName} (known: ${u.known.join(', ') || 'none'})`;
}

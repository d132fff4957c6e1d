// Why: sections name each other (a rollout's notifier, a backup's database); the config is refused
// at load when a name it gives is not defined, and every section says so in the same words.

export type ConfigPath = (string | number)[];
/** Reports a problem at a path of the config. */
export type Issue = (path: ConfigPath, message: string) => void;

/** The check of a name (or of each name of a list) at `path`: `unknown <what> "<name>"` when `among` lacks it. */
export function nameChecks(issue: Issue) {
  const one = (path: ConfigPath, name: string | undefined, among: object, what: string) => {
    if (name !== undefined && !(name in among)) issue(path, `unknown ${what} "${name}"`);
  };
  const each = (path: ConfigPath, names: string[] | undefined, among: object, what: string) =>
    names?.forEach((n, i) => one([...path, i], n, among, what));
  return { one, each };
}

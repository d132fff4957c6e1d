import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { nonEmpty } from '../domain/fields';
import { SecretScrubber } from '../domain/secret-scrub';

/**
 * Every secret value this process resolved. Whatever leaves an activity (results, failures, the
 * messages notifiers send, the worker's log lines) is scrubbed with it, because a remote system
 * may echo back the credential it was sent.
 */
export const resolvedSecrets = new SecretScrubber();

/** The secret references of parsed configs, so that a worker can resolve them all up front. */
const secretRefs = new WeakSet<object>();
const tagSecretRef = <T extends object>(ref: T): T => (secretRefs.add(ref), ref);

/** What a plain-text value in a secret field is told. */
const SECRET_FORM = 'a secret is written as { env: NAME } or { file: /path }, never as its value';

/**
 * A secret is never written in the config file itself: the file names where it lives, an env var
 * or a file (a Kubernetes/Docker secret mount). Only the worker resolves it, so it never reaches a
 * workflow input or history. Every secret field of every section is this one schema, so a value
 * pasted in plain text learns the form a secret takes (zod alone says only "Invalid input"); a
 * wrong env name or an empty path keeps its own message.
 */
export const secretRef = z
  .union(
    [
      z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an env var name') }).strict(),
      z.object({ file: nonEmpty }).strict(),
    ],
    { error: (issue) => (issue.code === 'invalid_union' ? SECRET_FORM : undefined) },
  )
  .transform(tagSecretRef);
export type SecretRef = z.infer<typeof secretRef>;

export class SecretError extends Error {}

/** Resolves a secret, naming the config field that asked for it when it cannot be had. */
export function resolveSecret(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): string {
  let value: string;
  if ('env' in ref) {
    const set = env[ref.env];
    if (set === undefined || set === '') throw new SecretError(`${field}: env var ${ref.env} is not set`);
    value = set;
  } else {
    try {
      value = readFileSync(ref.file, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`${field}: cannot read secret file ${ref.file} (${(err as Error).message})`);
    }
  }
  // Recorded before anyone can use it, so no echo of it can come back unrecognised.
  resolvedSecrets.add(value);
  return value;
}

export function resolveOptionalSecret(ref: SecretRef | undefined, field: string, env?: NodeJS.ProcessEnv) {
  return ref === undefined ? undefined : resolveSecret(ref, field, env);
}

/**
 * Resolves every secret a parsed config refers to, so that the scrubber knows them all before the
 * first activity runs (a notification may carry text another worker produced, a log line may come
 * before the activity that uses the secret). One that cannot be had now is left to fail, by name,
 * where it is used.
 */
export function recordConfiguredSecrets(config: unknown, env: NodeJS.ProcessEnv = process.env): number {
  const seen = new WeakSet<object>();
  let found = 0;
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (secretRefs.has(v)) {
      try {
        resolveSecret(v as SecretRef, 'config', env);
        found++;
      } catch {
        // reported where the secret is used
      }
      return;
    }
    for (const item of Array.isArray(v) ? v : Object.values(v)) walk(item);
  };
  walk(config);
  return found;
}

/** `value` (text or data) without any secret this process resolved. */
export function scrubSecrets<T>(value: T): T {
  return resolvedSecrets.value(value);
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** What a plain-text value in a secret field is told. */
export const SECRET_FORM = 'a secret is written as { env: NAME } or { file: /path }, never as its value';

/**
 * A secret is never written in the config file itself: the file names where it lives, an env var
 * or a file (a Kubernetes/Docker secret mount). Only the worker resolves it, so it never reaches a
 * workflow input or history. Every secret field of every section is this one schema, so a value
 * pasted in plain text learns the form a secret takes (zod alone says only "Invalid input"); a
 * wrong env name or an empty path keeps its own message.
 */
export const secretRef = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an env var name') }).strict(),
    z.object({ file: z.string().min(1) }).strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? SECRET_FORM : undefined) },
);
export type SecretRef = z.infer<typeof secretRef>;

export class SecretError extends Error {}

/** Resolves a secret, naming the config field that asked for it when it cannot be had. */
export function resolveSecret(ref: SecretRef, field: string, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new SecretError(`${field}: env var ${ref.env} is not set`);
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (err) {
    throw new SecretError(`${field}: cannot read secret file ${ref.file} (${(err as Error).message})`);
  }
}

export function resolveOptionalSecret(ref: SecretRef | undefined, field: string, env?: NodeJS.ProcessEnv) {
  return ref === undefined ? undefined : resolveSecret(ref, field, env);
}

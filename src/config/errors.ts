import type { z } from 'zod';
import { formatIssues } from '../domain/validation';

export class ValidationError extends Error {
  constructor(
    what: string,
    public readonly details: string,
  ) {
    super(`invalid ${what}:\n${details}`);
    this.name = 'ValidationError';
  }
}

/** Parses or throws a ValidationError naming each bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string, root?: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, formatIssues(result.error, root));
  return result.data;
}

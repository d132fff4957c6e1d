import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { formatIssues } from '../domain/validation';

/**
 * Workflows parse their own input with the same schema the CLI uses, so a start from the plain
 * `temporal` CLI with bad input fails at once, non-retryably, naming the field, having done nothing.
 */
export function parseInput<T extends z.ZodType>(schema: T, raw: unknown, workflow: string): z.infer<T> {
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    throw ApplicationFailure.nonRetryable(`invalid ${workflow} input:\n${formatIssues(result.error)}`, 'InvalidInput');
  }
  return result.data;
}

/** A message's input parsed by its schema, or an error naming the field (an Update's refusal). */
export function parsedMessage<T>(schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new Error(formatIssues(result.error));
  return result.data;
}

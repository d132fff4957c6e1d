import type { z } from 'zod';
import type { $RefinementCtx } from 'zod/v4/core';

/** A zod failure as lines an operator can act on: "field.path: what was expected". */
export function formatIssues(error: z.ZodError, root?: string): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

/** A refinement's finding: `message` at `path` below the value refined. */
export const addIssue = <T>(ctx: $RefinementCtx<T>, path: PropertyKey[], message: string) =>
  ctx.addIssue({ code: 'custom', path, message });

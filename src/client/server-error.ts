import { ServiceError } from '@temporalio/client';

/** Bounded: a cause chain is short, but a message is never built from an unbounded one. */
const MAX_DEPTH = 8;

/** A gRPC status error: its `details` is the server's own reason, without the "3 INVALID_ARGUMENT: " prefix. */
const grpcReason = (e: unknown): string | undefined => {
  const { code, details } = e as { code?: unknown; details?: unknown };
  return typeof code === 'number' && typeof details === 'string' && details ? details : undefined;
};

/**
 * An error of a client call in words, with the server's reason under the SDK's wrapper: the SDK
 * throws "Failed to start Workflow" and keeps why (e.g. "Blob data size exceeds limit") only in
 * its cause, so printing the message alone told the operator nothing.
 */
export function clientErrorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < MAX_DEPTH; depth++) {
    const words = grpcReason(e)?.replace(/\.$/, '') ?? (e as Error).message ?? String(e);
    if (words && !parts.some((p) => p.includes(words))) parts.push(words);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(err);
}

/**
 * A start the server refused for the size of its input: the reason, and how big the input was
 * (it is one JSON payload), so the operator knows by how much and what to move out of it.
 */
export function payloadTooLarge(err: unknown, input: unknown): string | undefined {
  if (!(err instanceof ServiceError) || !/size exceeds limit/i.test(clientErrorText(err))) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(input) ?? '');
  return (
    `${clientErrorText(err)}: the input is ${(bytes / 1_000_000).toFixed(1)} MB as JSON (${bytes} bytes), over the server's limit for one payload ` +
    '(2 MB by default); nothing was started: keep big lists in a file or table the input names'
  );
}

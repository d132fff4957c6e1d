import type { Client } from '@temporalio/client';

/** Every string and byte string of a history as text, payload bytes included: what a reader of Temporal's database sees. */
function texts(value: unknown, out: string[], seen = new Set<unknown>()): string[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('latin1'));
  else if (typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const v of Array.isArray(value) ? value : Object.values(value)) texts(v, out, seen);
  }
  return out;
}

/**
 * The secrets (of those given) that any run's raw history on this server holds, with the run that
 * holds each: after a test file's runs, none may (no secret in history, even one a system echoed).
 */
export async function secretsInHistories(client: Client, secrets: string[]): Promise<string[]> {
  if (!secrets.length) return [];
  const found: string[] = [];
  for await (const run of client.workflow.list()) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const text = texts(history, []).join('\n');
    for (const s of secrets)
      if (text.includes(s)) found.push(`${run.workflowId} (${run.type}) holds a test secret ending …${s.slice(-6)}`);
  }
  return found;
}

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
  // Listed raw: the SDK's list decodes each run's memo, which fails for a run whose memo the
  // encryption codec wrote; the search needs only the ids.
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      pageSize: 100,
      nextPageToken,
    });
    for (const run of page.executions ?? []) {
      const workflowId = run.execution?.workflowId ?? '';
      const history = await client.workflow.getHandle(workflowId, run.execution?.runId ?? undefined).fetchHistory();
      const text = texts(history, []).join('\n');
      for (const s of secrets)
        if (text.includes(s))
          found.push(`${workflowId} (${run.type?.name}) holds a test secret ending …${s.slice(-6)}`);
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return found;
}

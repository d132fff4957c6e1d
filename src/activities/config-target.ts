import { ApplicationFailure } from '@temporalio/activity';

/**
 * A named target from a config section. A name that is not there is a mistake no retry can fix,
 * so it is non-retryable and says which section (and which field named it, when not an input).
 */
export function configTarget<T>(section: Record<string, T>, sectionName: string, name: string, field?: string): T {
  const target = section[name];
  if (!target) {
    throw ApplicationFailure.nonRetryable(
      `unknown ${sectionName} target "${name}" (${field ?? `not in config.${sectionName}`})`,
      'UnknownTarget',
    );
  }
  return target;
}

/** A configured target as an activity reaches it: its config entry, and the field that named it. */
export interface TargetRef {
  section: string;
  name: string;
  /** The input or config field that named the entry (`source.database`, `config.routers.gateway.redis`). */
  field?: string;
}

/** `source.database "deaddb" (postgres.deaddb)`; `postgres.deaddb` when no field is known. */
function targetLabel({ section, name, field }: TargetRef): string {
  return field ? `${field} "${name}" (${section}.${name})` : `${section}.${name}`;
}

/** Node's connect to a name with several addresses fails with an AggregateError whose own message is empty. */
function ownWords(err: Error & { errors?: unknown[]; code?: string }): string {
  if (err.message) return err.message;
  const inner = (err.errors ?? []).map((e) => (e as Error)?.message).filter(Boolean);
  return inner.length ? inner.join('; ') : (err.code ?? err.name);
}

/**
 * Opens a configured target (a connect, a first request), so that a failure to reach it says which
 * config entry and which field it was for — `source.database "deaddb" (postgres.deaddb): connect
 * ECONNREFUSED 127.0.0.1:5999` — and not only an address. Every activity that opens a configured
 * PostgreSQL, Redis or HTTP target goes through here. The error's message gains the label in place:
 * its class, code (a SQLSTATE, an errno) and retryability are what callers classify it by.
 */
export async function openTarget<T>(ref: TargetRef | undefined, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw named(ref, err);
  }
}

/**
 * The error with the target's label in front of its message (once, however often it passes). An
 * error from Node's own sockets may come from another realm (a test runner's sandbox), where it is
 * no `Error` to the code that converts failures: it becomes one here, keeping the fields callers
 * classify by (code, errno, syscall, address, port).
 */
function named(ref: TargetRef | undefined, err: unknown): unknown {
  if (!ref || typeof err !== 'object' || err === null || typeof (err as Error).message !== 'string') return err;
  const label = targetLabel(ref);
  const words = ownWords(err as Error);
  const message = words.startsWith(label) ? words : `${label}: ${words}`;
  if (err instanceof Error) {
    err.message = message;
    return err;
  }
  const { code, errno, syscall, address, port } = err as Record<string, unknown>;
  return Object.assign(new Error(message), { code, errno, syscall, address, port });
}

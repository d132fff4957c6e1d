import { createServer } from 'node:net';
import { request } from 'undici';

/** A free TCP port on loopback, asked of the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Polls until `fn` gives a value (not undefined or false). A throw counts as "not yet" — a query
 * while a worker restarts, a connection refused while a server starts — and the last error is
 * named if the deadline passes.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const last = lastError ? ` (last error: ${(lastError as Error).message ?? lastError})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts a server on freshly chosen ports, and tries again on new ones when a port was taken
 * between choosing it and binding it (other processes run too); `cleanUp` undoes a failed try.
 */
export async function startRetryingPorts<T>(start: () => Promise<T>, cleanUp: () => Promise<void>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      await cleanUp();
      if (i >= attempts) throw err;
    }
  }
}

/** Waits until `url` answers 200 (a server's readiness endpoint), retrying refused connections. */
export async function waitForHttpOk(what: string, url: string, timeoutMs: number, everyMs = 250): Promise<void> {
  await waitFor(what, async () => {
    try {
      const res = await request(url);
      await res.body.dump();
      return res.statusCode === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs, everyMs);
}

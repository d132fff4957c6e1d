import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'undici';

/** Binds `port` on loopback (0: any) and lets it go; the port bound, or undefined when it is taken. */
function tryBind(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : undefined));
    });
  });
}

/** The first port of the kernel's ephemeral range (what `listen(0)` and outgoing connections get). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}
const PICK_FROM = 10_000;

/**
 * A free TCP port on loopback, picked at random below the kernel's ephemeral range. A port the
 * kernel hands out (`listen(0)`, any test's client connections) can be handed to another process
 * the moment its server lets it go: a fixture app restarted by a deploy then found its port taken
 * by another test's server. Below that range only another random pick can land on it.
 */
export async function freePort(): Promise<number> {
  const to = ephemeralLow();
  for (let i = 0; to - PICK_FROM > 1_000 && i < 50; i++) {
    const port = await tryBind(PICK_FROM + Math.floor(Math.random() * (to - PICK_FROM)));
    if (port !== undefined) return port;
  }
  const port = await tryBind(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
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
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
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
export async function startRetryingPorts<T>(
  start: () => Promise<T>,
  cleanUp: () => Promise<void>,
  attempts = 3,
): Promise<T> {
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
  await waitFor(
    what,
    async () => {
      try {
        const res = await request(url);
        await res.body.dump();
        return res.statusCode === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    everyMs,
  );
}

import { connect } from 'node:net';

/** Whether a TCP connection to host:port opens within the timeout. */
export function reach(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean, error?: string) => {
      socket.destroy();
      resolve({ ok, latencyMs: Math.round(performance.now() - started), error });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (err) => done(false, err.message));
  });
}

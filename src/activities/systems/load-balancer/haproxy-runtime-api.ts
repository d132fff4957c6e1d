import { connect, type Socket } from 'node:net';

export type RuntimeApiAddress = { socket: string } | { host: string; port: number };

/**
 * One command on HAProxy's Runtime API in non-interactive mode: HAProxy answers and closes the
 * connection, so the whole answer is what arrives before the close.
 */
export function runtimeApiCommand(address: RuntimeApiAddress, command: string, timeoutMs: number): Promise<string> {
  if (/[\n;]/.test(command))
    return Promise.reject(new Error(`refusing a Runtime API command with a newline or ";": ${command}`));
  return new Promise((resolve, reject) => {
    const sock: Socket = 'socket' in address ? connect(address.socket) : connect(address.port, address.host);
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`HAProxy Runtime API ${describe(address)}: no answer to "${command}" in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d: string) => (out += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`HAProxy Runtime API ${describe(address)}: ${err.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function describe(address: RuntimeApiAddress): string {
  return 'socket' in address ? address.socket : `${address.host}:${address.port}`;
}

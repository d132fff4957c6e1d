import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { CliContext, print, UsageError } from '../cli-context';
import { ALERTS_PATH, createAlertReceiver, listen } from '../alert-receiver/server';
import { resolveSecret } from '../../config/secrets';
import { TASK_QUEUE } from '../connection';

/** `opsflow alerts serve`: the Alertmanager webhook receiver, until SIGINT/SIGTERM. */
export function registerAlertCommands(program: Command, ctx: CliContext) {
  const alerts = program.command('alerts').description('Prometheus Alertmanager webhook receiver');
  alerts
    .command('serve')
    .description(
      `receive Alertmanager webhooks (version 4) on ${ALERTS_PATH}; each firing alert opens or joins incident-<fingerprint>`,
    )
    .option('--host <host>', 'listen address (default: incident.receiver.host)')
    .option('--port <port>', 'listen port (default: incident.receiver.port)')
    .action(async (o: { host?: string; port?: string }) => {
      const incident = ctx.config().incident;
      const cfg = incident.receiver;
      if (!cfg)
        throw new UsageError('config incident.receiver is not set (it names the bearer token Alertmanager must send)');
      let token: string;
      try {
        token = resolveSecret(cfg.token, 'incident.receiver.token');
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const port = o.port === undefined ? cfg.port : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port: a TCP port');
      const log = (l: string) => process.stderr.write(`${l}\n`);
      // Temporal may be away at start as later: the receiver listens anyway and answers 503
      // (Alertmanager retries) until a request finds Temporal; one connection attempt at a time.
      let connecting: Promise<Client> | undefined;
      const temporal = () =>
        (connecting ??= ctx.temporal().catch((err) => {
          connecting = undefined;
          throw err;
        }));
      const server = createAlertReceiver({
        client: temporal,
        token,
        taskQueue: TASK_QUEUE,
        maxBodyBytes: cfg.maxBodyBytes,
        log,
        severity: incident,
      });
      const host = o.host ?? cfg.host;
      const bound = await listen(server, port, host);
      print(`opsflow alerts: listening on http://${host}:${bound}${ALERTS_PATH}`);
      await temporal().catch((err: Error) =>
        log(`opsflow alerts: Temporal not reachable yet (${err.message}); answering 503 until it is`),
      );
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      print('opsflow alerts: stopped');
    });
}

import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CliContext, print, UsageError } from '../cli-context';
import { resolveSecret, SecretError } from '../../config/secrets';
import { temporalSettings } from '../connection';
import { encryptionCodec } from '../codec/data-converter';
import { createCodecServer } from '../codec/server';
import { jwksVerifier } from '../codec/jwt-auth';
import { isLoopback } from '../../config/sections/encryption';
import { KEY_BYTES } from '../codec/keys';
import { listen } from '../alert-receiver/server';

/** `opsflow codec serve|keygen`: the codec server for the Web UI and CLI, and new keys. */
export function registerCodecCommands(program: Command, ctx: CliContext) {
  const codec = program
    .command('codec')
    .description('payload encryption: the codec server the Web UI decodes through, and keys');
  codec
    .command('keygen')
    .description(`print a new random AES-256 key (${KEY_BYTES} bytes, base64) for encryption.keys`)
    .action(() => {
      print(randomBytes(KEY_BYTES).toString('base64'));
    });
  codec
    .command('serve')
    .description(
      'serve POST /encode and /decode (Temporal codec-server protocol) with the configured keys, until SIGINT/SIGTERM',
    )
    .option('--host <host>', 'listen address (default: encryption.codecServer.host)')
    .option('--port <port>', 'listen port (default: encryption.codecServer.port)')
    .action(async (o: { host?: string; port?: string }) => {
      const config = ctx.config();
      const server = config.encryption?.codecServer;
      if (!config.encryption || !server)
        throw new UsageError('config encryption.codecServer is not set (its token, UI origins and port)');
      const namespace = temporalSettings(process.env).namespace;
      let token: string | undefined;
      try {
        // auth none takes no token; auth token needs one (the config says so); auth jwks may have one
        token =
          server.auth === 'none' || server.token === undefined
            ? undefined
            : resolveSecret(server.token, 'encryption.codecServer.token');
      } catch (err) {
        if (err instanceof SecretError) throw new UsageError(err.message);
        throw err;
      }
      const port = o.port === undefined ? server.port : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port: a TCP port');
      const host = o.host ?? server.host;
      if (server.auth === 'none' && !isLoopback(host))
        throw new UsageError(`--host: auth none is allowed only on a loopback host, not ${host}`);
      const jwks = typeof server.auth === 'object' ? server.auth.jwks : undefined;
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const http = createCodecServer({
        codec: encryptionCodec(config, namespace)!,
        token,
        jwt: jwks && jwksVerifier(jwks),
        origins: server.origins,
        maxBodyBytes: server.maxBodyBytes,
        defaultNamespace: namespace,
        log,
      });
      const bound = await listen(http, port, host);
      const accepts = [token && 'the configured token', jwks && `JWTs of ${jwks.issuer} (JWKS ${jwks.url})`]
        .filter(Boolean)
        .join(' or ');
      print(
        `opsflow codec: listening on http://${host}:${bound} (keys ${config.encryption.keys.map((k) => k.id).join(', ')}; current ${config.encryption.current}; accepts ${accepts || 'anyone (auth none)'})`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => http.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      print('opsflow codec: stopped');
    });
}

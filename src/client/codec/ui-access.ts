import type { EncryptionConfig } from '../../config/sections/encryption';

type CodecServerConfig = NonNullable<EncryptionConfig['codecServer']>;

/**
 * Why a Web UI without sign-in (the dev server's) cannot decode through this codec server, or
 * undefined when it can. The UI calls the codec server from the browser: CORS must answer the UI's
 * origin, and the browser sends no bearer token (a static token cannot be put in it, and a JWT
 * needs the UI's OIDC sign-in). Without this, the launcher would say "the UI decodes" while every
 * page showed ciphertext.
 */
export function uiDecodeProblem(server: CodecServerConfig, uiOrigins: string[]): string | undefined {
  const allowed = new Set(server.origins.map((u) => new URL(u).origin));
  const problems: string[] = [];
  if (!uiOrigins.some((o) => allowed.has(new URL(o).origin)))
    problems.push(`encryption.codecServer.origins lacks the UI's origin (${uiOrigins.join(' or ')})`);
  if (server.auth !== 'none')
    problems.push(
      `encryption.codecServer.auth is ${typeof server.auth === 'string' ? server.auth : 'jwks'}, and the dev UI sends no bearer token: use auth none (loopback only) for the dev stack`,
    );
  return problems.length ? problems.join('; ') : undefined;
}

import { z } from 'zod';
import { addIssue } from '../../domain/validation';
import { nonEmpty, nonNegativeInt, positiveInt, texts } from '../../domain/fields';
import { secretRef } from '../secrets';

const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id: 1 to 64 of A-Z a-z 0-9 . _ -');

/** A host name or address on this machine only (a URL's hostname writes ::1 as [::1]). */
export const isLoopback = (host: string) =>
  ['localhost', '::1', '[::1]'].includes(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * The asymmetric JWS algorithms an issuer signs access tokens with. HMAC (`HS*`) is not among them:
 * its key is a shared secret, which a public JWKS cannot hold, and `none` is never a signature.
 */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/**
 * Bearer tokens that are JWTs signed by an identity provider: the Web UI's forwarded access token
 * (the UI's `codec.passAccessToken`). The keys come from the issuer's JWKS, fetched with a timeout,
 * cached, and fetched again when a token names a key id the cache lacks (rotation at the issuer).
 */
const jwksAuth = z
  .object({
    /** The issuer's JWKS (its `jwks_uri`): https, or http only on a loopback host. */
    url: z.url().superRefine((url, ctx) => {
      if (!URL.canParse(url)) return; // z.url() has said so
      const u = new URL(url);
      if (u.protocol === 'https:') return;
      if (u.protocol === 'http:' && isLoopback(u.hostname)) return;
      ctx.addIssue({
        code: 'custom',
        message:
          u.protocol === 'http:'
            ? `http is allowed only on a loopback host (127.0.0.1, ::1, localhost), not ${u.hostname}: use https, or keys could be swapped on the way`
            : `an https URL (or http on a loopback host), not ${u.protocol}`,
      });
    }),
    /** The `iss` every token must carry, exactly as the issuer writes it. */
    issuer: nonEmpty,
    /** The `aud` a token must hold (one of them, when several): the API the issuer minted it for. */
    audience: z.union([nonEmpty, texts.min(1)]).optional(),
    /** The signature algorithms accepted; any other, and any HMAC or `none`, is refused. */
    algorithms: z
      .array(z.enum(JWT_ALGORITHMS))
      .min(1)
      .default([...JWT_ALGORITHMS]),
    /** How long one JWKS fetch may take before the request is answered 503. */
    timeoutMs: positiveInt.max(60_000).default(5_000),
    /** How long a fetched JWKS is used before it is fetched again. */
    cacheMaxAgeMs: positiveInt.default(600_000),
    /** The least time between two fetches when tokens name key ids the JWKS lacks (a flood of them fetches once). */
    cooldownMs: nonNegativeInt.default(30_000),
  })
  .strict();
export type JwksAuthConfig = z.infer<typeof jwksAuth>;

const AUTH_FORMS =
  'token (the configured token), none (loopback only), or { jwks: { url, issuer, audience?, algorithms? } }';
const jwksForm = z.object({ jwks: jwksAuth }).strict();

/**
 * How a codec-server request is authenticated; every form but `none` wants a bearer token. Parsed
 * by hand rather than as a zod union, which would answer a mistake inside `jwks` with "Invalid
 * input" at `auth` instead of naming the field (`auth.jwks.issuer: …`).
 */
const codecAuth = z.unknown().transform((value, ctx) => {
  if (value === 'token' || value === 'none') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: AUTH_FORMS });
    return z.NEVER;
  }
  const parsed = jwksForm.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) addIssue(ctx, issue.path, issue.message);
  return z.NEVER;
});

/**
 * Payload encryption (AES-256-GCM). Payloads are encrypted with the `current` key and decrypted
 * with whichever configured key their metadata names, so a key is rotated by adding the new one,
 * making it current, and keeping the old one as long as runs or histories written under it are
 * read. Keys are 32 random bytes, written base64 or hex, and like every secret live in env or a file.
 */
export const encryptionConfig = z
  .object({
    keys: z.array(z.object({ id: keyId, key: secretRef }).strict()).min(1),
    current: keyId,
    /** Payloads larger than this are deflated before they are encrypted (ciphertext does not compress). */
    compressAboveBytes: nonNegativeInt.default(1024),
    /** `opsflow codec serve`: the codec server the Web UI and `temporal --codec-endpoint` decode through. */
    codecServer: z
      .object({
        host: nonEmpty.default('127.0.0.1'),
        port: nonNegativeInt.max(65535).default(8888),
        /** Browser origins (the Web UI's) allowed to call it; CORS answers no other. */
        origins: z.array(z.url()).default([]),
        /**
         * The bearer token a request may carry: with `auth: token` (the default) the only one
         * accepted; with `auth: { jwks }` accepted beside the issuer's JWTs (the CLI and services
         * use it, browsers the UI's forwarded token); `auth: none` only on a loopback host (dev).
         */
        token: secretRef.optional(),
        auth: codecAuth.default('token'),
        maxBodyBytes: positiveInt.default(4 * 1024 * 1024),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const ids = cfg.keys.map((k) => k.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) addIssue(ctx, ['keys', i, 'id'], `key id "${id}" is used twice`);
    });
    if (!ids.includes(cfg.current))
      addIssue(ctx, ['current'], `"${cfg.current}" is not one of keys[].id (${ids.join(', ')})`);
    const server = cfg.codecServer;
    if (server?.auth === 'token' && !server.token)
      addIssue(
        ctx,
        ['codecServer', 'token'],
        'required unless auth is none or { jwks }: every decode must be authenticated',
      );
    if (server?.auth === 'none' && !isLoopback(server.host))
      addIssue(ctx, ['codecServer', 'auth'], `none is allowed only on a loopback host, not ${server.host}`);
  });

export type EncryptionConfig = z.infer<typeof encryptionConfig>;

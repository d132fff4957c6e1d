import { z } from 'zod';
import { secretRef } from '../secrets';

const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id: 1 to 64 of A-Z a-z 0-9 . _ -');

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
    compressAboveBytes: z.number().int().nonnegative().default(1024),
    /** `opsflow codec serve`: the codec server the Web UI and `temporal --codec-endpoint` decode through. */
    codecServer: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8888),
        /** Browser origins (the Web UI's) allowed to call it; CORS answers no other. */
        origins: z.array(z.url()).default([]),
        /** The bearer token every request must carry; `auth: none` only on a loopback host (dev). */
        token: secretRef.optional(),
        auth: z.enum(['token', 'none']).default('token'),
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const ids = cfg.keys.map((k) => k.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `key id "${id}" is used twice` });
    });
    if (!ids.includes(cfg.current))
      ctx.addIssue({
        code: 'custom',
        path: ['current'],
        message: `"${cfg.current}" is not one of keys[].id (${ids.join(', ')})`,
      });
    const server = cfg.codecServer;
    if (server?.auth === 'token' && !server.token)
      ctx.addIssue({
        code: 'custom',
        path: ['codecServer', 'token'],
        message: 'required unless auth is none: every decode must be authenticated',
      });
    if (server?.auth === 'none' && !['127.0.0.1', '::1', 'localhost'].includes(server.host))
      ctx.addIssue({
        code: 'custom',
        path: ['codecServer', 'auth'],
        message: `none is allowed only on a loopback host, not ${server.host}`,
      });
  });

export type EncryptionConfig = z.infer<typeof encryptionConfig>;

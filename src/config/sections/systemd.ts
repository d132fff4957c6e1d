import { z } from 'zod';
import { flag, nonEmpty, positiveInt, unitNames } from '../../domain/fields';
import { targetName, tcpPort } from '../../domain/names';
import { secretRef } from '../secrets';

/**
 * A remote host whose units opsflow restarts over SSH (ssh2). The host key is pinned by its
 * SHA-256 fingerprint (as `ssh-keygen -lf` prints it, without the "SHA256:" prefix) so that a
 * restart is never sent to an impostor; credentials come from env or files.
 */
const sshHost = z
  .object({
    host: nonEmpty,
    port: tcpPort.default(22),
    username: nonEmpty,
    privateKey: secretRef.optional(),
    password: secretRef.optional(),
    hostKeySha256: z.string().regex(/^[A-Za-z0-9+/]{43}=?$/, 'a SHA-256 host key fingerprint (base64)'),
    systemctl: nonEmpty.default('systemctl'),
    sudo: flag,
    readyTimeoutMs: positiveInt.default(10_000),
  })
  .strict()
  .refine((h) => h.privateKey !== undefined || h.password !== undefined, { message: 'give privateKey or password' });
export type SshHost = z.infer<typeof sshHost>;

/** How opsflow reaches systemd on this host. */
export const systemdConfig = z
  .object({
    /** The systemctl executable; tests point it at a stand-in. */
    systemctl: nonEmpty.default('systemctl'),
    sudo: flag,
    /** Units the scheduled health check expects to be active (runbooks §4). */
    units: unitNames.default([]),
    /** Remote hosts reached over SSH, by name (incident remediation names them). */
    hosts: z.record(targetName, sshHost).optional(),
  })
  .strict();
export type SystemdConfig = z.infer<typeof systemdConfig>;

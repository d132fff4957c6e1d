import { z } from 'zod';

/** Target names appear in workflow ids, inputs and search attributes: keep them plain. */
export const targetName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_" or "-" (max 63)');

/** A systemd unit name as systemctl accepts it; validated so that it can never carry an option or a path. */
export const unitName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9:_.@\\-]{0,254}$/, 'a systemd unit name such as nginx or nginx.service')
  .refine((s) => !s.includes('..'), 'a systemd unit name without ".."');

export const tcpPort = z.number().int().min(1).max(65535);

import { z } from 'zod';
import { unitName } from '../../domain/names';

/** How opsflow reaches systemd on this host. */
export const systemdConfig = z
  .object({
    /** The systemctl executable; tests point it at a stand-in. */
    systemctl: z.string().min(1).default('systemctl'),
    sudo: z.boolean().default(false),
    /** Units the scheduled health check expects to be active (SPEC §4). */
    units: z.array(unitName).default([]),
  })
  .strict();
export type SystemdConfig = z.infer<typeof systemdConfig>;

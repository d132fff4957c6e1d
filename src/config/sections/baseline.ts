import { z } from 'zod';
import { postgresStoreConfig } from './postgres-store';

/** Performance baselines (runbooks §5): where the raw samples and the baselines are stored. */
export const baselineConfig = z
  .object({
    store: postgresStoreConfig.optional(),
  })
  .strict();

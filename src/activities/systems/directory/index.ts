import type { OpsflowConfig } from '../../../config/schema';
import { configTarget } from '../../config-target';
import type { Directory } from './directory';
import { httpDirectory } from './http';
import { postgresDirectory } from './postgres';

export type { Directory };

/** The directory an input names, by its kind. */
export function openDirectory(config: OpsflowConfig, name: string): Directory {
  const d = configTarget(config.directories, 'directories', name);
  return d.type === 'postgres' ? postgresDirectory(config, name, d) : httpDirectory(name, d);
}

import { execFile } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/activity';
import { unitName } from '../../../domain/names';
import type { SystemdConfig } from '../../../config/sections/systemd';

export type SystemctlVerb = 'is-active' | 'start' | 'stop' | 'restart' | 'reload' | 'status';

export interface SystemctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs systemctl without a shell: the unit name is validated and passed as one argv element, so
 * it can never become an option or a second command.
 */
export function systemctl(
  config: SystemdConfig,
  verb: SystemctlVerb,
  unit: string,
  timeoutMs = 60_000,
): Promise<SystemctlResult> {
  const parsed = unitName.safeParse(unit);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid systemd unit name ${JSON.stringify(unit)}`, 'InvalidUnitName');
  }
  const [cmd, args] = config.sudo
    ? ['sudo', ['-n', config.systemctl, verb, '--', unit]]
    : [config.systemctl, [verb, '--', unit]];
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // spawn failure (ENOENT...) or timeout: not an answer from systemd
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}`));
        return;
      }
      resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
  });
}

/** `systemctl is-active`: exit 0 means active; anything else, the state it printed. */
export async function unitIsActive(config: SystemdConfig, unit: string): Promise<{ active: boolean; state: string }> {
  const r = await systemctl(config, 'is-active', unit, 15_000);
  return { active: r.code === 0, state: r.stdout.trim() || r.stderr.trim() || `exit ${r.code}` };
}

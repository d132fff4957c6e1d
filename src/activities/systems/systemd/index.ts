import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import { systemctl, type SystemctlResult, type SystemctlVerb } from './systemctl';
import { sshSystemctl } from './ssh';
import { whileHeartbeating } from '../../heartbeat';

export interface UnitAction {
  unit: string;
  /** A name in config.systemd.hosts; absent means this host. */
  host?: string;
}

export interface UnitActionResult {
  unit: string;
  host: string;
  verb: SystemctlVerb;
  output: string;
}

/** systemd's "unit not found" exit code (and the stand-in's). */
const UNIT_NOT_FOUND = 5;

/**
 * restart, reload and status of a unit, here or on a configured SSH host. Restart and reload are
 * idempotent in effect: however often a retry repeats them, the unit ends up running with fresh
 * state (a restart that already happened is repeated, which is what a restart means).
 */
export function systemdActivities(config: OpsflowConfig) {
  async function run(verb: SystemctlVerb, a: UnitAction): Promise<SystemctlResult> {
    if (a.host === undefined) return systemctl(config.systemd, verb, a.unit);
    const host = config.systemd.hosts?.[a.host];
    if (!host)
      throw ApplicationFailure.nonRetryable(
        `unknown SSH host "${a.host}" (not in config.systemd.hosts)`,
        'UnknownTarget',
      );
    return sshSystemctl(a.host, host, verb, a.unit);
  }

  async function act(verb: 'restart' | 'reload', a: UnitAction): Promise<UnitActionResult> {
    const r = await whileHeartbeating(() => run(verb, a));
    const where = a.host ?? 'localhost';
    const output = (r.stderr || r.stdout).trim();
    if (r.code === UNIT_NOT_FOUND)
      throw ApplicationFailure.nonRetryable(
        `systemctl ${verb} ${a.unit} on ${where}: unit not found (${output})`,
        'UnitNotFound',
      );
    if (r.code !== 0)
      throw ApplicationFailure.retryable(
        `systemctl ${verb} ${a.unit} on ${where} exited ${r.code}: ${output}`,
        'UnitActionFailed',
      );
    return { unit: a.unit, host: where, verb, output };
  }

  return {
    restartUnit: (a: UnitAction) => act('restart', a),
    reloadUnit: (a: UnitAction) => act('reload', a),
    /** Only reads: `systemctl status` output and whether the unit is active (exit 0). */
    async unitStatus(a: UnitAction): Promise<{ unit: string; host: string; active: boolean; output: string }> {
      const r = await run('status', a);
      return {
        unit: a.unit,
        host: a.host ?? 'localhost',
        active: r.code === 0,
        output: (r.stdout || r.stderr).trim().slice(0, 4000),
      };
    },
  };
}

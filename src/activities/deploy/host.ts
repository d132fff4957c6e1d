import { execFile } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../config/schema';
import type { DeployHost, DeployService } from '../../config/sections/deploy';
import { shellQuote, sshExec } from '../systems/systemd/ssh';
import type { SystemctlResult } from '../systems/systemd/systemctl';

type RunResult = SystemctlResult;

/** An argv on one deploy host, without a shell of ours: here by execFile, there as one quoted SSH command line. */
type HostRunner = (argv: string[], opts: { cwd?: string; timeoutMs: number }) => Promise<RunResult>;

export interface DeployTarget {
  service: string;
  host: string;
  cfg: DeployService;
  hostCfg: DeployHost;
  /** The deploy path on this host. */
  path: string;
  run: HostRunner;
}

function localRun(argv: string[], opts: { cwd?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      argv[0],
      argv.slice(1),
      { cwd: opts.cwd, timeout: opts.timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // Not an exit status: the program is missing, or the timeout killed it.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            return resolve({ code: 127, stdout, stderr: `${argv[0]}: not found` });
          return resolve({
            code: 124,
            stdout,
            stderr: `${stderr}${argv[0]} killed after ${opts.timeoutMs} ms (${err.message})`,
          });
        }
        resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
      },
    );
  });
}

/** The deploy target `host` of `service`, with the way to run commands on it. */
export function deployTarget(config: OpsflowConfig, service: string, host: string): DeployTarget {
  const cfg = config.deploy.services[service];
  if (!cfg)
    throw ApplicationFailure.nonRetryable(
      `unknown deploy service "${service}" (not in deploy.services)`,
      'UnknownTarget',
    );
  const hostCfg = cfg.hosts[host];
  if (!hostCfg)
    throw ApplicationFailure.nonRetryable(`unknown host "${host}" of deploy service "${service}"`, 'UnknownTarget');
  const path = hostCfg.path ?? cfg.path;
  let run: HostRunner = localRun;
  if (hostCfg.transport !== 'local') {
    const sshName = hostCfg.transport.ssh;
    const ssh = config.systemd.hosts?.[sshName];
    if (!ssh)
      throw ApplicationFailure.nonRetryable(`unknown SSH host "${sshName}" (not in systemd.hosts)`, 'UnknownTarget');
    run = (argv, opts) => {
      const line = argv.map(shellQuote).join(' ');
      // `timeout` bounds the remote command too: an SSH session that is dropped must not leave it running for ever.
      const bounded = `timeout ${Math.ceil(opts.timeoutMs / 1000)} ${line}`;
      return sshExec(
        sshName,
        ssh,
        opts.cwd ? `cd ${shellQuote(opts.cwd)} && ${bounded}` : bounded,
        opts.timeoutMs + 5_000,
        argv[0],
      );
    };
  }
  return { service, host, cfg, hostCfg, path, run };
}

/**
 * A POSIX sh script with its arguments as "$1"…: the file operations of a release, the same here
 * and over SSH, each argument passed whole (never parsed into the script).
 */
export async function hostScript(
  t: DeployTarget,
  what: string,
  script: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const r = await t.run(['sh', '-ec', script, 'opsflow-deploy', ...args], { timeoutMs });
  if (r.code !== 0)
    throw ApplicationFailure.retryable(
      `${t.service}/${t.host}: ${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`,
      'DeployHostStepFailed',
    );
  return r.stdout;
}

import { Command, CommanderError } from 'commander';
import { CliContext, ExitCode, UsageError } from './cli-context';
import { ValidationError } from '../config/errors';
import { registerWorkflowCommands } from './commands/workflows';
import { registerScheduleCommands } from './commands/schedules';
import { registerIncidentCommands } from './commands/incidents';
import { registerAlertCommands } from './commands/alerts';
import { registerBaselineCommands } from './commands/baseline';
import { registerReportCommands } from './commands/report';
import { registerCodecCommands } from './commands/codec';
import { registerSearchAttributeCommands } from './commands/search-attributes';
import { clientErrorText } from './server-error';
import { registerOperatorCommands } from './commands/operator';
import { registerWorkerCommands } from './commands/workers';

/**
 * The `opsflow` CLI. Exit codes: 0 ok, 1 failure (server, workflow), 2 usage (unknown command,
 * bad flag, input or config that does not validate).
 */
export function buildProgram(ctx?: CliContext): { program: Command; ctx: CliContext } {
  const program = new Command('opsflow')
    .description('durable infrastructure operations on Temporal')
    .option('-c, --config <file>', 'operator config (default: $OPSFLOW_CONFIG or ./opsflow.config.yaml)')
    .option('--address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS or 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or default)')
    .exitOverride()
    .showHelpAfterError();
  const context = ctx ?? new CliContext(() => program.opts());
  registerWorkflowCommands(program, context);
  registerOperatorCommands(program, context);
  registerScheduleCommands(program, context);
  registerIncidentCommands(program, context);
  registerAlertCommands(program, context);
  registerBaselineCommands(program, context);
  registerReportCommands(program, context);
  registerCodecCommands(program, context);
  registerSearchAttributeCommands(program, context);
  registerWorkerCommands(program, context);
  return { program, ctx: context };
}

export async function runCli(argv: string[]): Promise<number> {
  const { program, ctx } = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; they are success to the user
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof ExitCode) return err.code;
    if (err instanceof UsageError || err instanceof ValidationError) {
      process.stderr.write(`opsflow: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`opsflow: ${clientErrorText(err)}\n`);
    return 1;
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}

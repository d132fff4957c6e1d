import type { Command } from 'commander';
import { CliContext, print } from '../cli-context';
import { temporalSettings } from '../connection';
import { ensureSearchAttributes } from '../search-attributes';
import { opsflowSearchAttributes } from '../../domain/search-attributes';

/**
 * `opsflow search-attributes ensure`: the one-shot set-up step of a deployment (a compose service,
 * a Kubernetes Job). Registers only what is missing, so it runs again harmlessly, and fails (exit 1,
 * saying what) on anything else: a type clash, a refused registration, a server it cannot reach.
 */
export function registerSearchAttributeCommands(program: Command, ctx: CliContext) {
  const sa = program.command('search-attributes').description("opsflow's custom search attributes in the namespace");
  sa.command('ensure')
    .description(
      `register the missing ones of ${opsflowSearchAttributes.map((k) => k.name).join(', ')}; exit 1 when they cannot all be had`,
    )
    .action(async () => {
      const client = await ctx.temporal();
      const g = program.opts<{ address?: string; namespace?: string }>();
      const where = temporalSettings(process.env, { address: g.address, namespace: g.namespace });
      const registered = await ensureSearchAttributes(client.connection.operatorService, where, { register: true });
      print(
        registered.length
          ? `search attributes: registered ${registered.join(', ')} in namespace ${where.namespace}`
          : `search attributes: all ${opsflowSearchAttributes.length} already registered in namespace ${where.namespace}`,
      );
    });
}

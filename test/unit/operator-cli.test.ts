import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { knownSignals, messagesByType, workflowEntries } from '../../src/client/registry';
import { acceptedLine } from '../../src/client/commands/operator';

const workflowsDir = join(__dirname, '../../src/workflows');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

describe("what the CLI knows of each workflow type's signals", () => {
  test('every type in the table is a registered workflow type', () => {
    const types = workflowEntries.map((e) => e.type);
    expect(Object.keys(messagesByType).filter((t) => !types.includes(t))).toEqual([]);
  });

  test('every signal a workflow defines is known to the CLI for some type (else `opsflow signal` refuses it)', () => {
    const defined = files(workflowsDir).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/defineSignal<[^(]*>\('([^']+)'\)/g)].map((m) => m[1]),
    );
    expect(defined.length).toBeGreaterThan(5);
    const known = new Set(Object.keys(messagesByType).flatMap((t) => knownSignals(t)));
    expect(defined.filter((name) => !known.has(name))).toEqual([]);
  });

  test('a rollout knows its operator actions and promote; a health check knows none', () => {
    expect(knownSignals('phasedRolloutWorkflow')).toEqual(['approve', 'pause', 'resume', 'abort', 'promote']);
    expect(knownSignals('healthCheckWorkflow')).toEqual([]);
  });

  test('the answer line: type, id, state, and the step when there is one', () => {
    expect(acceptedLine('phasedRolloutWorkflow', 'rollout-x', { state: 'shifting', step: 2 })).toBe(
      'accepted: phasedRolloutWorkflow rollout-x is now shifting, step 2',
    );
    expect(acceptedLine('dataMigrationWorkflow', 'data-migration-m', { phase: 'copying' })).toBe(
      'accepted: dataMigrationWorkflow data-migration-m is now copying',
    );
  });
});

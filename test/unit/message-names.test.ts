import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

// Why: a message name spelled as a string where it is sent or handled compiles whatever it says, and
// a typo ('aprove') or a renamed message only shows up as a signal the run ignores. Each name is
// written once, in its workflow folder's messages.ts; everyone else passes the definition.

const root = join(__dirname, '../..');
const scanned = ['src', 'test', 'bench', 'scripts'];

/** Calls whose first argument is the message: a handle sending or asking, a workflow handling. */
const takesName = new Set([
  'query',
  'signal',
  'executeUpdate',
  'startUpdate',
  'executeUpdateWithStart',
  'startUpdateWithStart',
  'setHandler',
]);
/** Calls that name the signal in their options (`{ signal: ... }`). */
const takesSignalOption = new Set(['signalWithStart']);
const defines = new Set(['defineQuery', 'defineSignal', 'defineUpdate']);
/** A string name on purpose (a typo a test sends, a name an operator types): said on the line or the one above. */
const deliberate = '// message-name: deliberate';
const isMessagesFile = (file: string): boolean => /^src\/workflows\/[^/]+\/messages\.ts$/.test(file);

const calleeName = (e: ts.Expression): string | undefined =>
  ts.isPropertyAccessExpression(e) ? e.name.text : ts.isIdentifier(e) ? e.text : undefined;
const literal = (e: ts.Node | undefined): string | undefined =>
  e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : undefined;

function eachCall(source: string, file: string, visit: (call: ts.CallExpression, name: string) => void): void {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const walk = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      if (name) visit(node, name);
    }
    ts.forEachChild(node, walk);
  };
  walk(sf);
}

/** The names given as literals to defineQuery/defineSignal/defineUpdate in one source. */
function definedNames(source: string, file: string): string[] {
  const names: string[] = [];
  eachCall(source, file, (call, callee) => {
    const name = defines.has(callee) ? literal(call.arguments[0]) : undefined;
    if (name !== undefined) names.push(name);
  });
  return names;
}

/**
 * `file:line: what` for each message named by a string outside its definition: a known name passed
 * where a definition goes, or a definition written outside a workflow folder's messages.ts. Only
 * literals equal to a known name count, so pg's `client.query('SELECT ...')` is never one.
 */
function stringNamedMessages(source: string, file: string, names: ReadonlySet<string>): string[] {
  const lines = source.split('\n');
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const report = (node: ts.Node, what: string): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
    if (lines[line].includes(deliberate) || (line > 0 && lines[line - 1].includes(deliberate))) return;
    found.push(`${file}:${line + 1}: ${what}`);
  };
  eachCall(source, file, (call, callee) => {
    const first = call.arguments[0];
    const name = literal(first);
    if (defines.has(callee) && name !== undefined && !isMessagesFile(file))
      report(call, `${callee}('${name}') outside a workflow folder's messages.ts`);
    if (takesName.has(callee) && name !== undefined && names.has(name)) report(first, `.${callee}('${name}')`);
    if (takesSignalOption.has(callee))
      for (const arg of call.arguments) {
        if (!ts.isObjectLiteralExpression(arg)) continue;
        for (const p of arg.properties) {
          const signal = ts.isPropertyAssignment(p) && calleeName(p.name as ts.Expression) === 'signal';
          const value = signal ? literal(p.initializer) : undefined;
          if (value !== undefined && names.has(value)) report(p, `.${callee}({ signal: '${value}' })`);
        }
      }
  });
  return found;
}

const tsFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return f === 'node_modules' ? [] : tsFiles(path);
    return f.endsWith('.ts') ? [path] : [];
  });
const repoFile = (path: string): string => relative(root, path).split(sep).join('/');

describe('message names are written once, in a messages.ts', () => {
  const known = new Set(['status', 'approve', 'signOff', 'alert']);

  test('the guard reports a string-named send, handler, signal-with-start and stray definition, by file and line', () => {
    const sample = [
      "import * as wf from '@temporalio/workflow';",
      "await handle.signal('approve', { by: 'ann' });",
      "const s = await handle.query<Status>('status');",
      'await handle.executeUpdate(',
      "  'signOff',",
      '  { args: [{ item: "x" }] },',
      ');',
      "wf.setHandler(wf.defineQuery<string>('status'), () => 'ok');",
      "await client.workflow.signalWithStart(incidentResponseWorkflow, { workflowId: 'i', signal: 'alert', signalArgs: [a] });",
    ].join('\n');
    expect(stringNamedMessages(sample, 'test/sample.test.ts', known)).toEqual([
      "test/sample.test.ts:2: .signal('approve')",
      "test/sample.test.ts:3: .query('status')",
      "test/sample.test.ts:5: .executeUpdate('signOff')",
      "test/sample.test.ts:8: defineQuery('status') outside a workflow folder's messages.ts",
      "test/sample.test.ts:9: .signalWithStart({ signal: 'alert' })",
    ]);
  });

  test('the typed form, SQL and PromQL through .query, an unknown name and a marked exception are not reported', () => {
    const sample = [
      "import { approveSignal, statusQuery } from '../../src/workflows/rollout/messages';",
      'await handle.signal(approveSignal, { by: "ann" });',
      'const s = await handle.query(statusQuery);',
      "await client.query('select 1');",
      "await pg.query('SELECT status FROM runs WHERE approve = $1', [true]);",
      "await prometheus.query('sum(rate(http_requests_total[1m]))');",
      "await handle.signal('aprove', { by: 'ann' });",
      '// message-name: deliberate: the raw name, as `temporal workflow signal` sends it',
      "await handle.signal('approve');",
      "await handle.signal('approve'); // message-name: deliberate",
      'await client.workflow.signalWithStart(w, { workflowId: "i", signal: alertSignal, signalArgs: [a] });',
    ].join('\n');
    expect(stringNamedMessages(sample, 'test/sample.test.ts', known)).toEqual([]);
  });

  test("a definition in a workflow folder's messages.ts is where the name belongs", () => {
    const source = "export const recheckSignal = wf.defineSignal<[RecheckInput?]>('recheck');";
    expect(stringNamedMessages(source, 'src/workflows/readiness/messages.ts', known)).toEqual([]);
    expect(definedNames(source, 'src/workflows/readiness/messages.ts')).toEqual(['recheck']);
  });

  test('no message is named by a string in src, test, bench or scripts', async () => {
    const files = scanned.flatMap((d) => tsFiles(join(root, d)));
    const workflowFiles = files.filter((f) => repoFile(f).startsWith('src/workflows/'));
    const names = new Set(workflowFiles.flatMap((f) => definedNames(readFileSync(f, 'utf8'), repoFile(f))));

    // Every name the messages modules export is one the source scan found (a name built some other
    // way would slip past the guard).
    const exported = new Set<string>();
    for (const f of workflowFiles.filter((f) => isMessagesFile(repoFile(f)))) {
      for (const value of Object.values((await import(f)) as Record<string, unknown>)) {
        const def = value as { type?: unknown; name?: unknown } | null;
        if (def && ['query', 'signal', 'update'].includes(def.type as string) && typeof def.name === 'string')
          exported.add(def.name);
      }
    }
    expect(exported.size).toBeGreaterThan(10);
    expect([...exported].filter((n) => !names.has(n))).toEqual([]);

    const found = files.flatMap((f) => stringNamedMessages(readFileSync(f, 'utf8'), repoFile(f), names));
    expect(found).toEqual([]);
  });
});

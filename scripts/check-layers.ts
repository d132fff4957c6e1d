/**
 * Imports point one way: domain <- config <- activities <- workflows <- client (<- worker.ts).
 * A layer imports only from the layers below it, and no files import each other round in a
 * circle. Type-only imports count: a type taken from a higher layer ties the lower one to it as
 * much as a value does, and a type cycle keeps files from being moved apart.
 *
 * Usage: tsx scripts/check-layers.ts [ROOT]   (exit 1 and one line per violation when it finds any)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export const LAYERS = ['domain', 'config', 'activities', 'workflows', 'client', 'worker.ts'] as const;

/** src-relative file -> the src-relative files it imports (only files inside src/). */
export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every module a file names: imports, `export ... from`, `import x = require()`, require() and import() calls, `import('x')` types. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) found.push(expr.text);
    } else if (ts.isCallExpression(node)) {
      const [arg] = node.arguments;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isRequire || node.expression.kind === ts.SyntaxKind.ImportKeyword) && arg && ts.isStringLiteralLike(arg)) {
        found.push(arg.text);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push(literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [base, `${base}.ts`, path.join(base, 'index.ts')];
  if (base.endsWith('.js')) candidates.push(base.replace(/\.js$/, '.ts'));
  return candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

export function importGraph(root: string): ImportGraph {
  const src = path.join(root, 'src');
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(src).sort()) {
    const targets = specifiers(file)
      .map((specifier) => resolve(file, specifier))
      .filter((target): target is string => target !== undefined && target.startsWith(src + path.sep))
      .map((target) => path.relative(src, target).split(path.sep).join('/'));
    graph.set(path.relative(src, file).split(path.sep).join('/'), [...new Set(targets)]);
  }
  return graph;
}

/** The layer's rank, or undefined for a file outside the layers (none today). */
function rank(file: string): number | undefined {
  const index = (LAYERS as readonly string[]).indexOf(file.split('/')[0]);
  return index < 0 ? undefined : index;
}

export function upwardImports(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const [from, to] = [rank(file), rank(target)];
      if (from === undefined || to === undefined || to <= from) continue;
      found.push(`upward import: src/${file} (${LAYERS[from]}) imports src/${target} (${LAYERS[to]})`);
    }
  }
  return found;
}

/**
 * Inside activities: an adapter of a real system (`activities/systems/<system>/`) imports only other
 * adapters and the files shared at the top of `activities/`, never a capability's folder, so a
 * system's adapter can change without reading every workflow's support built on it.
 */
export function adapterImports(graph: ImportGraph): string[] {
  const found: string[] = [];
  const capabilityFolder = (file: string) => /^activities\/(?!systems\/)[^/]+\//.test(file);
  for (const [file, targets] of graph) {
    if (!file.startsWith('activities/systems/')) continue;
    for (const target of targets.filter(capabilityFolder))
      found.push(`adapter import: src/${file} (an adapter) imports src/${target} (a capability's folder)`);
  }
  return found;
}

/** Strongly connected components of more than one file (or a file importing itself), Tarjan's. */
export function cycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const connect = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) components.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) connect(file);
  return components;
}

/** One circle through the component's first file, to show where to cut it. */
function circleThrough(graph: ImportGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0];
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const circle = [file];
        while (circle[0] !== start) circle.unshift(cameFrom.get(circle[0])!);
        return [...circle, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  return component;
}

export function layerViolations(root: string): string[] {
  const graph = importGraph(root);
  const circles = cycles(graph).map(
    (component) =>
      `import cycle: ${circleThrough(graph, component)
        .map((file) => `src/${file}`)
        .join(' -> ')}`,
  );
  return [...upwardImports(graph), ...adapterImports(graph), ...circles];
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const violations = layerViolations(root);
  for (const violation of violations) console.error(violation);
  if (violations.length > 0) {
    console.error(
      `${violations.length} import(s) against the layers domain <- config <- activities <- workflows <- client`,
    );
    process.exit(1);
  }
  console.log(`layers: ${importGraph(root).size} files, imports point one way, no cycles`);
}

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** What the bundle is built from besides our own source: the SDK, zod and webpack, pinned by the lock. */
const lockFiles = ['package-lock.json'];

// Every `import … from '…'`, `export … from '…'` and bare `import '…'`, over several lines too;
// group 1 is `type ` for a type-only statement, which the bundler erases.
const importPattern = /(?:^|[\n;])\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/g;

function resolveRelative(fromFile: string, spec: string): string {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`workflow bundle key: cannot resolve ${spec} imported by ${fromFile}`);
}

/**
 * The source files the workflow bundle is made of: the entry and every file it reaches through
 * relative value imports, wherever under `src/` they live (type-only imports are erased).
 */
export function workflowSourceFiles(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(importPattern)) {
      if (!m[1] && m[2].startsWith('.')) queue.push(resolveRelative(file, m[2]));
    }
  }
  return [...seen].sort();
}

/**
 * The cache key of the workflow bundle: the content of every source file in it and of the lock
 * file, so that a change to workflow code, to anything it imports, or an SDK upgrade rebuilds it.
 */
export function workflowBundleKey(root: string, entry = join(root, 'src/workflows/index.ts')): string {
  const hash = createHash('sha256');
  for (const f of [...workflowSourceFiles(entry), ...lockFiles.map((l) => join(root, l))]) {
    hash.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

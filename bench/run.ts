import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAverage } from './load';

/**
 * `npm run bench -- <name>` runs bench/<name>.ts, which prints its figures and ends with the
 * headline `<name>: <value> <unit> (target <target>)`. Benchmarks are never part of `npm test`.
 */
async function main() {
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'load.ts')
    .map((f) => f.replace(/\.ts$/, ''));
  const name = process.argv[2];
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ') || '(none yet)'}`);
    process.exit(2);
  }
  const mod = await import(join(__dirname, `${name}.ts`));
  // The machine may be shared: every figure is read against the load it was measured under.
  console.log(`load average at start (1 5 15 min): ${loadAverage()}`);
  await mod.main(process.argv.slice(3));
  console.log(`load average at end (1 5 15 min): ${loadAverage()}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

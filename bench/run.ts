import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench -- <name>` runs bench/<name>.ts, which prints its figures and ends with the
 * headline `<name>: <value> <unit> (target <target>)`. Benchmarks are never part of `npm test`.
 */
async function main() {
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.replace(/\.ts$/, ''));
  const name = process.argv[2];
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ') || '(none yet)'}`);
    process.exit(2);
  }
  const mod = await import(join(__dirname, `${name}.ts`));
  await mod.main(process.argv.slice(3));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

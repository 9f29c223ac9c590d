// Checks one `npm pack` tarball of a scorekit library package, unpacked in a directory:
// - it holds README.md, package.json and, for every export of package.json, the `types` and
//   `default` files it names;
// - every source map (`*.js.map`, `*.d.ts.map`) names sources that are in the tarball;
// - no test file is shipped.
// Usage: node --import tsx scripts/checkTarball.ts <unpacked package dir>   (exit 1 on a problem)
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';

type ExportEntry = Readonly<Record<string, string>>;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/** The problems of the unpacked package at `root` (empty when it is complete). */
export async function tarballProblems(root: string): Promise<string[]> {
  const problems: string[] = [];
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, ExportEntry>;
  };
  if (!(await exists(join(root, 'README.md')))) problems.push('README.md: missing');
  for (const [subpath, entry] of Object.entries(pkg.exports ?? {})) {
    for (const condition of ['types', 'default'] as const) {
      const target = entry[condition];
      if (target === undefined) problems.push(`exports["${subpath}"].${condition}: missing`);
      else if (!(await exists(join(root, target))))
        problems.push(`exports["${subpath}"].${condition}: ${target} is not in the tarball`);
    }
  }
  const files = await walk(root);
  for (const file of files) {
    const rel = relative(root, file);
    if (/\.test\.(ts|js)$/.test(rel)) problems.push(`${rel}: a test file is shipped`);
    if (!rel.endsWith('.map')) continue;
    const map = JSON.parse(await readFile(file, 'utf8')) as { sources?: string[] };
    for (const source of map.sources ?? []) {
      const target = resolve(dirname(file), source);
      if (!(await exists(target)))
        problems.push(`${rel}: source ${source} (${relative(root, target)}) is not in the tarball`);
    }
  }
  return problems;
}

const root = process.argv[2];
if (root === undefined) {
  console.error('usage: checkTarball.ts <unpacked package dir>');
  process.exit(2);
}
const problems = await tarballProblems(root);
const name = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string })
  .name;
if (problems.length > 0) {
  console.error(`${name}: ${problems.length} problem(s) in the tarball:`);
  for (const p of problems.slice(0, 20)) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`${name}: tarball complete (exports, README, map sources)`);

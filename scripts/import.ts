/**
 * `npm run import`: regenerates `imports/` from the CRDs that cdk8s.yaml lists under `imports:`.
 *
 *   node scripts/import.ts [--out DIR]
 *
 * `cdk8s import` writes TypeScript that Node cannot run as is, with type stripping or even with
 * `--experimental-transform-types`: it imports cdk8s's interfaces (`ApiObjectMetadata`) as values, and
 * declares constructor parameter properties. So it writes into a staging folder, and tsc compiles that into
 * JavaScript with declarations in `imports/`: what the charts import, typed, and loaded by Node without a
 * build step. The generated classes are needed at run time: their `toJson` renames fields to the CRD's
 * spelling (`repoUrl` → `repoURL`).
 *
 * The test in `test/sources.test.ts` runs this into a temporary folder and compares it with `imports/`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'imports') } } });
const out = resolve(flags.out);

/** Runs a package's command line with this Node, from the repository root, and fails loudly. */
function run(script: string, args: readonly string[]): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', script), ...args], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

// Inside the repository, so that tsc finds cdk8s and constructs in node_modules.
const stage = mkdtempSync(join(ROOT, '.import-'));
try {
  run('cdk8s-cli/bin/cdk8s', ['import', '--no-check-upgrade', '--output', join(stage, 'ts')]);
  writeFileSync(
    join(stage, 'ts', 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: [],
        strict: true,
        skipLibCheck: true,
        declaration: true,
        newLine: 'lf',
        rootDir: '.',
        outDir: '../js',
      },
      include: ['*.ts'],
    }),
  );
  run('typescript/bin/tsc', ['-p', join(stage, 'ts')]);
  if (existsSync(out)) renameSync(out, join(stage, 'previous'));
  renameSync(join(stage, 'js'), out);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

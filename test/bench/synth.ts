/**
 * `npm run bench`: times `npm run synth`'s work (a fresh `node main.ts` per run, as a user runs it) against
 * the floor of merely loading cdk8s, cdk8s-plus-28 and yaml in a fresh Node, and prints both medians and
 * their ratio. The target is a ratio within 2x.
 *
 * Both are timed twice: cold, and with Node's compile cache warm (`NODE_COMPILE_CACHE`, which `npm run synth`
 * sets so that repeated synths skip type stripping and compiling the same modules). Floor and synth always
 * run under the same setting, so the ratio compares like with like.
 *
 *   node test/bench/synth.ts [--runs N]
 *
 * Timing is a benchmark, never a test: machines differ, so nothing here asserts a number.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as YAML from 'yaml';
import { hardwareInventory } from './hardware-inventory.ts';

/** One timed case: a values document rendered by a fresh synth. */
interface BenchCase {
  readonly name: string;
  readonly values?: unknown;
}

const cases: readonly BenchCase[] = [
  { name: 'default stack' },
  // The scale the hardware issue asks for: exporters, scrape jobs, target files, rules and the dashboard.
  { name: '1,000 servers in 10 groups', values: hardwareInventory(10, 100) },
];

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(flags.runs);
const work = mkdtempSync(join(tmpdir(), 'sightline-bench-'));

/** Environment of the timed processes: none, or a compile cache of the bench's own. */
let env: NodeJS.ProcessEnv = process.env;

function timeRun(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`);
  return elapsed;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Times every command `runs` times, one of each per round, so that a change in the machine's load while the
 * bench runs weighs on the floor and the synths alike instead of skewing their ratio.
 */
function measureInterleaved(commands: ReadonlyArray<readonly string[]>): number[] {
  for (const args of commands) timeRun(args); // warm the file system (and compile) caches; not counted
  const samples = commands.map((): number[] => []);
  for (let round = 0; round < runs; round++) for (const [i, args] of commands.entries()) samples[i]!.push(timeRun(args));
  return samples.map(median);
}

try {
  const { NODE_COMPILE_CACHE: _, ...cold } = process.env;
  const synthArgs = cases.map((c) => {
    const args = ['main.ts', '--out', join(work, 'out')];
    if (c.values !== undefined) {
      const file = join(work, `${c.name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, YAML.stringify(c.values));
      args.push('--values', file);
    }
    return args;
  });
  for (const [mode, modeEnv] of [
    ['cold', cold],
    ['compile cache warm', { ...cold, NODE_COMPILE_CACHE: join(work, 'compile-cache') }],
  ] as const) {
    env = modeEnv;
    const floorArgs = ['--input-type=module', '-e', "await import('cdk8s'); await import('cdk8s-plus-28'); await import('yaml');"];
    const [floor, ...synths] = measureInterleaved([floorArgs, ...synthArgs]);
    console.log(`${mode}:`);
    console.log(`  floor (load cdk8s + cdk8s-plus-28 + yaml): median ${floor!.toFixed(3)} s over ${runs} runs`);
    cases.forEach((c, i) => {
      console.log(`  synth, ${c.name}: median ${synths[i]!.toFixed(3)} s, ${(synths[i]! / floor!).toFixed(2)}x the floor`);
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * The command line of `node main.ts`: flags, help, exit codes and the messages a user reads. It decides what
 * to render where; main.ts, which composes the stack, does the rendering.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { valuesJsonSchema, ValuesError } from '../charts/values.ts';
import { argoCdFolder, COMMITTED_OUTPUTS, committedTargets, DEFAULTS, loadValues, type RenderTarget } from './targets.ts';

/** Renders `targets` under `root`, replacing the folders in `owned` as a whole (main.ts's `synth`). */
export type Synth = (root: string, targets: readonly RenderTarget[], owned: readonly string[]) => void;

export const USAGE = `Usage:
  node main.ts [--values FILE] [--out DIR]   render one stack
  node main.ts --all                          render what is committed (npm run synth)
  node main.ts --write-schema FILE            write the values file's JSON Schema (npm run schema)

Options:
  --values FILE        the values to render (default: the built-in defaults, a single-node dev stack)
  --out DIR            the output folder (default: $CDK8S_OUTDIR, which cdk8s synth sets, else dist); a stack
                       whose values have an argocd section also gets DIR-argocd/ beside it
  --all                dist/ from the defaults, and rendered/<env>/ from each environments/<env>.yaml
  --write-schema FILE  the JSON Schema editors use to check a values file
  --help               show this help

An output folder is replaced only when everything rendered: invalid values leave it unchanged.
`;

/** The command line's flags, as `parseArgs` reads them. */
function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      values: { type: 'string' },
      out: { type: 'string' },
      all: { type: 'boolean', default: false },
      'write-schema': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
}

/** Runs the command line `argv` (without `node main.ts`) and returns the exit code: 0 done, 1 failed, 2 misused. */
export function runCli(argv: readonly string[], synth: Synth): number {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    return misused(error instanceof Error ? error.message : String(error));
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags['write-schema'] !== undefined) {
    writeFileSync(flags['write-schema'], `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (flags.all && (flags.values !== undefined || flags.out !== undefined)) {
    return misused('--all renders every committed output; it takes no --values or --out');
  }
  // A trailing slash would put the Argo CD folder inside the output (dist/-argocd).
  const out = (flags.out ?? process.env.CDK8S_OUTDIR ?? 'dist').replace(/[\\/]+$/, '');
  const outputs = flags.all ? COMMITTED_OUTPUTS : [out, argoCdFolder(out)];
  try {
    const targets = flags.all ? committedTargets() : [{ values: loadValues(flags.values), source: flags.values ?? DEFAULTS, out }];
    synth('.', targets, outputs);
    return 0;
  } catch (error) {
    const message = error instanceof ValuesError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`synth failed: ${message}\nThe output (${outputs.map((o) => `${o}/`).join(', ')}) was left unchanged.\n`);
    return 1;
  }
}

/** Says what was wrong with the command line, and how it is used. */
function misused(problem: string): number {
  process.stderr.write(`${problem}\n\n${USAGE}`);
  return 2;
}

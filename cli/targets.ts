/**
 * What a synth renders where: each stack's values and output folder, the Argo CD output beside it, and the
 * folders `npm run synth` owns.
 *
 * A stack whose values have an `argocd` section also gets its Argo CD Application and AppProject, in the
 * sibling folder `<out>-argocd/`: outside the folder the Application syncs, which `kubectl apply -f <out>`
 * must take on a cluster without Argo CD.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as YAML from 'yaml';
import { parseValues, ValuesError, type Values } from '../charts/values.ts';

/** How error messages name the values when no file is given. */
export const DEFAULTS = 'the built-in defaults';

/** Reads and validates a values file; no file means the built-in defaults (a single-node dev stack). */
export function loadValues(file: string | undefined): Values {
  if (file === undefined) return parseValues(undefined, DEFAULTS);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValuesError(file, [error instanceof Error ? error.message : String(error)]);
  }
  return parseValues(raw, file);
}

/** One stack to render: validated values, where they came from, and its output folder. */
export interface RenderTarget {
  readonly values: Values;
  /** The values file, or the defaults, as error messages name it. */
  readonly source: string;
  /** Output folder, relative to the repository root (or absolute). */
  readonly out: string;
}

const ARGOCD_SUFFIX = '-argocd';

/** Where the Argo CD output of a stack rendered into `out` goes: a sibling, never inside `out`. */
export function argoCdFolder(out: string): string {
  return `${out}${ARGOCD_SUFFIX}`;
}

/** The folder `npm run synth` renders each environment into. */
export const RENDERED_DIR = 'rendered';
/** The folders `npm run synth` owns and replaces, relative to the repository root: what is committed. */
export const COMMITTED_OUTPUTS: readonly string[] = ['dist', argoCdFolder('dist'), RENDERED_DIR];
/** The committed values files, one per environment. */
export const ENVIRONMENTS_DIR = join(import.meta.dirname, '..', 'environments');

/**
 * What `npm run synth` renders and the repository commits: the defaults into `dist/`, and every
 * `environments/<name>.yaml` into `rendered/<name>/`.
 */
export function committedTargets(): RenderTarget[] {
  const environments = readdirSync(ENVIRONMENTS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return [
    { values: loadValues(undefined), source: DEFAULTS, out: 'dist' },
    ...environments.map((file) => {
      const source = `environments/${file}`;
      const name = basename(file, '.yaml');
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.endsWith(ARGOCD_SUFFIX)) {
        throw new ValuesError(source, [`"${name}" is not an environment name (lower-case letters, digits and -, not ending in ${ARGOCD_SUFFIX})`]);
      }
      return { values: loadValues(join(ENVIRONMENTS_DIR, file)), source, out: `${RENDERED_DIR}/${name}` };
    }),
  ];
}

/**
 * The folder of the repository that the Argo CD Application of `target` syncs: the values' `argocd.path`, or
 * else the output folder as the repository (at `root`) names it.
 *
 * @throws ValuesError when no path is given and the output folder is outside the repository
 */
export function applicationPath(root: string, target: RenderTarget): string {
  const given = target.values.argocd?.path;
  if (given !== undefined) return given;
  const path = relative(resolve(root), resolve(root, target.out)).split(sep).join('/');
  if (path === '' || path.startsWith('..') || isAbsolute(path)) {
    throw new ValuesError(target.source, [
      `argocd.path: nothing was given, and the output folder ${target.out} is not inside the repository, so it cannot be the default`,
    ]);
  }
  return path;
}

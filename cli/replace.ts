/**
 * Replaces output folders as a whole, or not at all: invalid values or a failing chart leave the previous
 * output byte-identical, so a failed synth never leaves half a stack to apply or commit.
 */
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

/** Maps an output folder (relative to the root, or absolute) to where it is rendered before the swap. */
export type Staged = (out: string) => string;

/**
 * Runs `render` and then replaces the folders in `owned` (relative to `root`) with what it wrote. Each folder
 * is rendered into a temporary sibling (`staged(out)` gives the path to write to) that is swapped in only once
 * `render` returned; an owned folder that nothing was rendered into (an Argo CD output whose values dropped the
 * `argocd` section) is removed. When `render` throws, every owned folder is left as it was.
 *
 * @throws Error when `render` asks for a folder outside `owned`
 */
export function replaceFolders(root: string, owned: readonly string[], render: (staged: Staged) => void): void {
  const folders = owned.map((folder) => resolve(root, folder));
  const staging = folders.map((folder) => mkdtempSync(join(dirname(folder), `.synth-${basename(folder)}-`)));
  const staged: Staged = (out) => {
    const path = resolve(root, out);
    const i = folders.findIndex((folder) => path === folder || path.startsWith(folder + sep));
    if (i < 0) throw new Error(`${out} is outside the folders this synth replaces (${owned.join(', ')})`);
    return join(staging[i]!, relative(folders[i]!, path));
  };
  try {
    render(staged);
    folders.forEach((folder, i) => {
      const previous = `${staging[i]}.previous`;
      if (existsSync(folder)) renameSync(folder, previous);
      if (readdirSync(staging[i]!).length > 0) renameSync(staging[i]!, folder);
    });
  } finally {
    for (const stage of staging) {
      rmSync(stage, { recursive: true, force: true });
      rmSync(`${stage}.previous`, { recursive: true, force: true });
    }
  }
}

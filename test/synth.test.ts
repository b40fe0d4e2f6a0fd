/**
 * The synth output as a whole: deterministic, and a snapshot as a tripwire for unintended changes.
 * (Targeted assertions live in the per-chart tests; a snapshot diff only says "look here".)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthCli, tempDir, treeDigest } from './cli.ts';

describe('npm run synth', () => {
  it('renders byte-identical output twice in a row', () => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    expect(synthCli(['--out', a]).status).toBe(0);
    expect(synthCli(['--out', b]).status).toBe(0);
    expect(treeDigest(b)).toEqual(treeDigest(a));
  });

  it('renders the default stack as snapshotted', () => {
    const out = join(tempDir(), 'dist');
    expect(synthCli(['--out', out]).status).toBe(0);
    const files = Object.fromEntries(Object.keys(treeDigest(out)).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    expect(files).toMatchSnapshot();
  });

  it('renders component configs that use only keys their pinned versions know (../shared/tools key checker)', () => {
    const out = join(tempDir(), 'dist');
    expect(synthCli(['--out', out]).status).toBe(0);
    const checker = new URL('../../shared/tools/check-config-keys.mjs', import.meta.url).pathname;
    const run = spawnSync(process.execPath, [checker, out], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toMatch(/key paths checked/);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });
});

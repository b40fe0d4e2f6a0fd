/**
 * Generated sources are verified like dist/: imports/ is exactly what `npm run import` generates.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPAWN_ENV, tempDir, treeDigest } from './cli.ts';

const ROOT = resolve(import.meta.dirname, '..');

describe('imports/', () => {
  it('is what `npm run import` generates from the CRDs cdk8s.yaml lists, untouched by hand', () => {
    const out = join(tempDir(), 'imports');
    const run = spawnSync(process.execPath, ['scripts/import.ts', '--out', out], { cwd: ROOT, encoding: 'utf8', env: SPAWN_ENV });
    expect(run.status, run.stderr).toBe(0);
    expect(treeDigest(join(ROOT, 'imports')), 'imports/ differs from what the CRDs generate: run npm run import and commit imports/').toEqual(
      treeDigest(out),
    );
  });
});

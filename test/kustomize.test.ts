/**
 * The README's layout for kustomize users works with kustomize 5 (as built into kubectl): a base folder holding
 * `dist/` and a `kustomization.yaml` that lists its files, and overlays beside that folder. And the layout it
 * warns against (an overlay inside the base folder) fails as it says.
 *
 * The tests need kubectl. Without it they are skipped with a message, except in CI (`CI` set), where a missing
 * kubectl fails the run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { tempDir } from './cli.ts';
import { readInKubectlOrder, ROOT } from './delivery.ts';

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const MISSING = 'kubectl is not installed: the kustomize layout of the README was not checked';
if (!kubectlFound && !process.env.CI) console.warn(`kustomize.test.ts: ${MISSING}; skipping.`);

/** Writes `files` (path relative to `root` → YAML data) below `root`. */
function write(root: string, files: Record<string, unknown>): void {
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), YAML.stringify(data));
  }
}

/** `kubectl kustomize <dir>`, run in `root`. */
function kustomize(root: string, dir: string) {
  if (!kubectlFound) throw new Error(`${MISSING}. CI must provide it.`);
  return spawnSync('kubectl', ['kustomize', dir], { cwd: root, encoding: 'utf8' });
}

const distFiles = readdirSync(join(ROOT, 'dist'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const base = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: distFiles.map((f) => `dist/${f}`) };
const overlay = (baseFolder: string) => ({
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: [baseFolder],
  labels: [{ pairs: { 'example.com/environment': 'production' } }],
});

describe.runIf(kubectlFound || process.env.CI)('the kustomize layout of the README', () => {
  it('builds an overlay beside the base folder into every object of dist/, with the overlay applied', () => {
    const root = tempDir();
    cpSync(join(ROOT, 'dist'), join(root, 'sightline', 'dist'), { recursive: true });
    write(root, { 'sightline/kustomization.yaml': base, 'overlays/production/kustomization.yaml': overlay('../../sightline') });

    const run = kustomize(root, 'overlays/production');

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const built = YAML.parseAllDocuments(run.stdout).map((d) => d.toJS());
    const rendered = readInKubectlOrder(join(ROOT, 'dist')).map(
      (a) => `${a.object.kind} ${a.object.metadata.namespace ?? '-'}/${a.object.metadata.name}`,
    );
    expect(built.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort()).toEqual(rendered.sort());
    for (const o of built) expect(o.metadata.labels['example.com/environment'], `${o.kind} ${o.metadata.name}`).toBe('production');
  });

  it('fails when the overlay is inside the base folder, as the README warns (kustomize 5: cycle detected)', () => {
    const root = tempDir();
    cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true });
    write(root, { 'kustomization.yaml': base, 'overlays/production/kustomization.yaml': overlay('../..') });

    const run = kustomize(root, 'overlays/production');

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('cycle detected');
  });
});

if (!kubectlFound && !process.env.CI) {
  describe('the kustomize layout of the README', () => {
    it.skip(MISSING, () => {});
  });
}

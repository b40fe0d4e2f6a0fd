/**
 * The rendered-manifests contract, checked on what is committed: the outputs are exactly what
 * `npm run synth` renders, and each applies in one `kubectl apply -f <folder>` and syncs with Argo CD.
 * Every check runs over every object of every output folder, whatever components the stack has.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { argoCdFolder, COMMITTED_OUTPUTS, committedTargets, RENDERED_DIR } from '../cli/targets.ts';
import { synth } from '../main.ts';
import { parseValues } from '../charts/values.ts';
import {
  annotateForArgoCd,
  clientSideApplyBytes,
  LAST_APPLIED_ANNOTATION,
  NEVER_DELETED_KINDS,
  SERVER_SIDE_APPLY_ABOVE_BYTES,
  SYNC_OPTIONS_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
  syncWave,
} from '../charts/shared/delivery.ts';
import { tempDir, treeDigest } from './cli.ts';
import {
  crdProblems,
  crdSchemaProblems,
  namespaceOrderProblems,
  nonObjectProblems,
  projectProblems,
  readInKubectlOrder,
  ROOT,
  sizeProblems,
  stackFolders as committedStackFolders,
  type AppliedObject,
} from './delivery.ts';
import { podSpec, type K8sObject } from './support.ts';

/** Files that differ between the committed outputs and a fresh render, as `changed|missing|extra: path`. */
function staleFiles(rendered: string): string[] {
  const digest = (root: string) =>
    Object.fromEntries(
      COMMITTED_OUTPUTS.flatMap((out) =>
        existsSync(join(root, out)) ? Object.entries(treeDigest(join(root, out))).map(([f, h]) => [`${out}/${f}`, h]) : [],
      ),
    );
  const [committed, fresh] = [digest(ROOT), digest(rendered)];
  return [...new Set([...Object.keys(committed), ...Object.keys(fresh)])].sort().flatMap((file) => {
    if (committed[file] === fresh[file]) return [];
    return [`${committed[file] === undefined ? 'missing' : fresh[file] === undefined ? 'extra' : 'changed'}: ${file}`];
  });
}

describe('the committed outputs', () => {
  it('are exactly what `npm run synth` renders from the committed sources', () => {
    const rendered = tempDir();
    synth(rendered, committedTargets(), COMMITTED_OUTPUTS);
    const stale = staleFiles(rendered);
    expect(
      stale,
      `${COMMITTED_OUTPUTS.map((o) => `${o}/`).join(', ')} differ from what the sources render:\n  ${stale.join('\n  ')}\nrun npm run synth and commit dist/ and ${RENDERED_DIR}/`,
    ).toEqual([]);
  });
});

/** Every committed stack folder: dist/ and one per environment. */
const stackFolders = committedStackFolders();
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
const wave = (o: K8sObject) => Number(o.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);

for (const folder of stackFolders) {
  describe(`${folder}/`, () => {
    const applied = readInKubectlOrder(join(ROOT, folder));
    const objects = applied.map((a) => a.object);
    const find = (kind: string, name: string, namespace?: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);

    it('holds nothing but Kubernetes objects', () => {
      expect(nonObjectProblems(join(ROOT, folder))).toEqual([]);
      expect(applied.length).toBeGreaterThan(0);
    });

    it('creates every namespace before anything in it, in the order `kubectl apply -f` reads it', () => {
      expect(namespaceOrderProblems(applied)).toEqual([]);
    });

    it('uses no kind that a CRD of the same apply defines', () => {
      expect(crdProblems(applied)).toEqual([]);
    });

    it('keeps every object under the annotation limit of client-side apply', () => {
      expect(sizeProblems(applied)).toEqual([]);
    });

    it('gives Argo CD a sync wave for every object, each namespace before everything in it', () => {
      for (const o of objects) {
        expect(Number.isInteger(wave(o)), `${o.kind} ${o.metadata.name}`).toBe(true);
        if (o.metadata.namespace) expect(wave(o), `${o.kind} ${o.metadata.name}`).toBeGreaterThan(wave(find('Namespace', o.metadata.namespace)!));
      }
    });

    it('syncs the accounts, ConfigMaps and Secrets a workload uses before it, and its claims with it', () => {
      const workloads = objects.filter((o) => WORKLOADS.has(o.kind));
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) {
        const spec = podSpec(w);
        const ns = w.metadata.namespace;
        const before = [
          find('ServiceAccount', spec.serviceAccountName, ns),
          ...(spec.volumes ?? []).flatMap((v: any) => [
            v.configMap && find('ConfigMap', v.configMap.name, ns),
            v.secret && find('Secret', v.secret.secretName, ns),
          ]),
        ].filter(Boolean) as K8sObject[];
        for (const o of before) expect(wave(o), `${o.kind} ${o.metadata.name} before ${w.kind} ${w.metadata.name}`).toBeLessThan(wave(w));
        // A claim waits for its first consumer on many StorageClasses: in an earlier wave it never binds.
        for (const v of (spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim)) {
          expect(wave(find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName, ns)!), `claim ${v.persistentVolumeClaim.claimName}`).toBe(
            wave(w),
          );
        }
      }
    });

    it('never lets Argo CD prune or delete a claim (and its volume) or a namespace, whatever the Application prunes', () => {
      const kept = objects.filter((o) => NEVER_DELETED_KINDS.has(o.kind));
      expect(kept.map((o) => o.kind)).toEqual(expect.arrayContaining(['Namespace', 'PersistentVolumeClaim']));
      for (const o of kept) {
        const options = (o.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',');
        expect(options, `${o.kind} ${o.metadata.name}`).toEqual(expect.arrayContaining(['Prune=false', 'Delete=false']));
      }
      for (const o of objects.filter((x) => !NEVER_DELETED_KINDS.has(x.kind))) {
        expect(o.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '', `${o.kind} ${o.metadata.name}`).not.toMatch(/Prune=false|Delete=false/);
      }
    });

    it('asks Argo CD for server-side apply on exactly the objects past half the annotation budget', () => {
      for (const o of objects) {
        const serverSide = (o.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').includes('ServerSideApply=true');
        const { [SYNC_OPTIONS_ANNOTATION]: _, ...annotations } = o.metadata.annotations ?? {};
        expect(serverSide, `${o.kind} ${o.metadata.name}`).toBe(
          clientSideApplyBytes({ ...o, metadata: { ...o.metadata, annotations } }) > SERVER_SIDE_APPLY_ABOVE_BYTES,
        );
      }
    });

    const argocd = join(ROOT, argoCdFolder(folder));
    if (existsSync(argocd)) {
      describe(`and ${argoCdFolder(folder)}/`, () => {
        const gitops = readInKubectlOrder(argocd);
        const project = gitops.find((a) => a.object.kind === 'AppProject')!.object;
        const application = gitops.find((a) => a.object.kind === 'Application')!.object;

        it('holds only an AppProject and then the Application in it, valid against the Argo CD CRDs', () => {
          expect(nonObjectProblems(argocd)).toEqual([]);
          expect(gitops.map((a) => a.object.kind)).toEqual(['AppProject', 'Application']);
          expect(application.spec.project).toBe(project.metadata.name);
          expect(gitops.flatMap((a) => crdSchemaProblems(a.object))).toEqual([]);
        });

        it(`has an AppProject that allows exactly the kinds and namespaces of ${folder}/`, () => {
          expect(projectProblems(applied, project)).toEqual([]);
        });

        it(`points the Application at ${folder}/ in the one repository the AppProject allows`, () => {
          expect(application.spec.source.path).toBe(folder);
          expect(project.spec.sourceRepos).toEqual([application.spec.source.repoURL]);
        });
      });
    }
  });
}

describe('rendering several outputs', () => {
  it('replaces none of them when one fails', () => {
    const root = tempDir();
    const defaults = { values: parseValues(undefined), source: 'defaults', out: 'dist' };
    synth(root, [defaults], ['dist']);
    const before = treeDigest(join(root, 'dist'));
    // Argo CD without a path, for an output outside the repository: its Application could point nowhere.
    const outside = {
      values: parseValues({ namespace: 'other', argocd: { repoURL: 'https://git.example.com/x.git' } }),
      source: 'outside.yaml',
      out: join(tempDir(), 'elsewhere'),
    };
    expect(() =>
      synth(root, [{ ...defaults, values: parseValues({ namespace: 'changed' }) }, outside], ['dist', outside.out, argoCdFolder(outside.out)]),
    ).toThrow(/argocd\.path: nothing was given/);
    expect(treeDigest(join(root, 'dist'))).toEqual(before);
    expect(readdirSync(root), 'no staging folder left behind').toEqual(['dist']);
    expect(existsSync(outside.out)).toBe(false);
  });
});

describe('the default stack with Argo CD enabled', () => {
  const root = tempDir();
  const values = parseValues({ argocd: { repoURL: 'https://git.example.com/platform/sightline.git' } });
  synth(root, [{ values, source: 'test values', out: 'dist' }], ['dist', argoCdFolder('dist')]);
  const gitops = readInKubectlOrder(join(root, argoCdFolder('dist')));

  it('renders the same dist/ as without it, and its Argo CD objects into dist-argocd/', () => {
    expect(treeDigest(join(root, 'dist'))).toEqual(treeDigest(join(ROOT, 'dist')));
    expect(gitops.map((a) => a.object.kind)).toEqual(['AppProject', 'Application']);
    expect(gitops[1]!.object.spec.source.path).toBe('dist');
  });

  it('allows every kind and namespace in the committed dist/, and nothing more', () => {
    expect(projectProblems(readInKubectlOrder(join(ROOT, 'dist')), gitops[0]!.object)).toEqual([]);
  });

  it('validates against the Argo CD CRDs', () => {
    expect(gitops.flatMap((a) => crdSchemaProblems(a.object))).toEqual([]);
  });
});

describe('the delivery checks', () => {
  const object = (kind: string, name: string, namespace?: string, extra: object = {}): AppliedObject => ({
    file: 'test.k8s.yaml',
    object: { apiVersion: kind === 'Widget' ? 'example.com/v1' : 'v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...extra },
  });

  it('fail when a namespaced object comes before its Namespace', () => {
    const problems = namespaceOrderProblems([object('ConfigMap', 'c', 'obs'), object('Namespace', 'obs')]);
    expect(problems).toEqual(['test.k8s.yaml: ConfigMap obs/c is applied before its Namespace obs exists']);
    expect(namespaceOrderProblems([object('ConfigMap', 'c', 'argocd')], new Set(['argocd']))).toEqual([]);
  });

  it('fail when an object needs a CRD that the same apply installs', () => {
    const crd = object('CustomResourceDefinition', 'widgets.example.com', undefined, { spec: { group: 'example.com', names: { kind: 'Widget' } } });
    expect(crdProblems([crd, object('Widget', 'w', 'obs')])).toEqual(['test.k8s.yaml: Widget obs/w needs a CRD that the same apply installs']);
  });

  it('fail when an object outgrows the annotation limit once kubectl adds its copy', () => {
    const big = (bytes: number) => object('ConfigMap', 'dashboards', 'obs', { data: { 'a.json': 'x'.repeat(bytes) } });
    expect(sizeProblems([big(262_000)])).toHaveLength(1);
    expect(sizeProblems([big(200_000)])).toEqual([]);
  });

  it('fail when the AppProject misses a kind or namespace, or allows one the stack does not use', () => {
    const applied = [object('Namespace', 'obs'), object('ConfigMap', 'c', 'obs')];
    const project = (cluster: string[], namespaced: string[], namespaces: string[]) =>
      ({
        spec: {
          clusterResourceWhitelist: cluster.map((kind) => ({ group: '', kind })),
          namespaceResourceWhitelist: namespaced.map((kind) => ({ group: '', kind })),
          destinations: namespaces.map((namespace) => ({ namespace })),
        },
      }) as unknown as K8sObject;
    expect(projectProblems(applied, project(['Namespace'], ['ConfigMap'], ['obs']))).toEqual([]);
    expect(projectProblems(applied, project([], ['ConfigMap'], ['obs']))).toEqual([
      'Namespace obs: cluster-scoped /Namespace is not in clusterResourceWhitelist',
    ]);
    expect(projectProblems(applied, project(['Namespace'], ['ConfigMap', 'Secret'], ['obs', 'kube-system']))).toEqual([
      'namespaceResourceWhitelist allows /Secret, which the stack does not render',
      'destinations allow namespace kube-system, which the stack does not use',
    ]);
  });

  it('fail when a folder holds a file kubectl cannot apply, such as a kustomization.yaml', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000-a.k8s.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: obs\n');
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - 0000-a.k8s.yaml\n');
    mkdirSync(join(dir, 'nested'));
    expect(nonObjectProblems(dir)).toEqual(['kustomization.yaml is not a rendered manifest file', 'nested is not a rendered manifest file']);
  });

  it('fail when an Argo CD object has a field its CRD does not know, or a wrong apiVersion', () => {
    const application = {
      apiVersion: 'argoproj.io/v1beta1',
      kind: 'Application',
      metadata: { name: 'a', namespace: 'argocd' },
      spec: { destination: {}, project: 'p', sauce: {} },
    };
    expect(crdSchemaProblems(application)).toEqual([
      'Application a: apiVersion argoproj.io/v1beta1 is not served (argoproj.io/v1alpha1)',
      'Application a: /spec must NOT have additional properties (sauce)',
    ]);
  });
});

describe('the delivery annotations', () => {
  it('count the last-applied copy as kubectl writes it: compact JSON, Go-escaped, newline-terminated', () => {
    const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', annotations: { k: 'v' } }, data: { expr: 'up < 1' } };
    const copy = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","annotations":{"k":"v"}},"data":{"expr":"up \\u003c 1"}}\n';
    expect(clientSideApplyBytes(manifest)).toBe('kv'.length + LAST_APPLIED_ANNOTATION.length + copy.length);
  });

  it('order Argo CD waves: namespaces, then configuration, then workloads with their claims and Services', () => {
    expect(syncWave('Namespace')).toBeLessThan(syncWave('ServiceAccount'));
    expect(syncWave('ClusterRoleBinding')).toBe(syncWave('ConfigMap'));
    expect(syncWave('ConfigMap')).toBeLessThan(syncWave('Deployment'));
    // Pods start protected by their policies, and never name a priority class that does not exist yet.
    for (const kind of ['NetworkPolicy', 'PriorityClass', 'ResourceQuota']) expect(syncWave(kind), kind).toBe(syncWave('ConfigMap'));
    expect(syncWave('PersistentVolumeClaim')).toBe(syncWave('Deployment'));
    expect(syncWave('Service')).toBe(syncWave('StatefulSet'));
  });

  it('mark only a large object for server-side apply, and keep a wave a component chose', () => {
    const app = new App();
    const chart = new Chart(app, 'c', { namespace: 'obs' });
    const big = new kplus.ConfigMap(chart, 'big', { metadata: { name: 'big' }, data: { 'd.json': 'x'.repeat(SERVER_SIDE_APPLY_ABOVE_BYTES) } });
    const small = new kplus.ConfigMap(chart, 'small', { metadata: { name: 'small', annotations: { [SYNC_WAVE_ANNOTATION]: '5' } } });
    annotateForArgoCd(app);
    const annotations = (c: kplus.ConfigMap) => ApiObject.of(c).toJson().metadata.annotations;
    expect(annotations(big)).toEqual({ [SYNC_WAVE_ANNOTATION]: '1', [SYNC_OPTIONS_ANNOTATION]: 'ServerSideApply=true' });
    expect(annotations(small)).toEqual({ [SYNC_WAVE_ANNOTATION]: '5' });
  });

  it('combine the options that keep a claim with server-side apply, and with an option a component set', () => {
    const app = new App();
    const chart = new Chart(app, 'c', { namespace: 'obs' });
    const claim = new kplus.PersistentVolumeClaim(chart, 'claim', {
      metadata: { name: 'data', annotations: { [SYNC_OPTIONS_ANNOTATION]: 'Validate=false' } },
    });
    const big = new kplus.PersistentVolumeClaim(chart, 'big', {
      metadata: { name: 'big', annotations: { note: 'x'.repeat(SERVER_SIDE_APPLY_ABOVE_BYTES) } },
    });
    annotateForArgoCd(app);
    const options = (c: kplus.PersistentVolumeClaim) => ApiObject.of(c).toJson().metadata.annotations[SYNC_OPTIONS_ANNOTATION];
    expect(options(claim)).toBe('Validate=false,Prune=false,Delete=false');
    expect(options(big)).toBe('Prune=false,Delete=false,ServerSideApply=true');
  });
});

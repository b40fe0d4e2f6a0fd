import { describe, expect, it } from 'vitest';
import { footprintOf } from '../charts/argocd.ts';
import { parseValues, type ValuesInput } from '../charts/values.ts';
import { buildArgoCd, buildStack } from '../main.ts';
import { crdSchemaProblems } from './delivery.ts';
import { render, type K8sObject } from './support.ts';

const REPO = 'https://git.example.com/platform/sightline.git';

/** The Argo CD objects of a stack rendered from `input`, into the folder `path`. */
function renderArgoCd(input: ValuesInput, path = 'dist'): { project: K8sObject; application: K8sObject } {
  const values = parseValues(input, 'test values');
  const chart = buildArgoCd(values.argocd!, buildStack(values, '/nonexistent'), path, '/nonexistent');
  const [project, application] = chart.toJson() as K8sObject[];
  return { project: project!, application: application! };
}

describe('Argo CD', () => {
  const { project, application } = renderArgoCd({ namespace: 'obs', argocd: { repoURL: REPO } });

  it('syncs the rendered folder from the repository at its default branch, into the cluster Argo CD runs in', () => {
    expect(application.spec.source).toEqual({ repoURL: REPO, targetRevision: 'HEAD', path: 'dist', directory: { recurse: false } });
    expect(application.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'obs' });
  });

  it('syncs automatically, pruning what left the folder and undoing changes made by hand', () => {
    expect(application.spec.syncPolicy).toEqual({ automated: { enabled: true, prune: true, selfHeal: true } });
  });

  it('confines the Application to a project of its own name, in the Argo CD namespace', () => {
    expect(application.spec.project).toBe(project.metadata.name);
    expect([project.metadata.namespace, application.metadata.namespace]).toEqual(['argocd', 'argocd']);
    expect(application.metadata).not.toHaveProperty('finalizers');
  });

  it('allows only the repository, and the namespaces the stack creates on the destination cluster', () => {
    const namespaces = render({ namespace: 'obs' })
      .all('Namespace')
      .map((n) => n.metadata.name)
      .sort();
    expect(namespaces).toContain('obs');
    expect(project.spec.sourceRepos).toEqual([REPO]);
    expect(project.spec.destinations).toEqual(namespaces.map((namespace) => ({ server: 'https://kubernetes.default.svc', namespace })));
  });

  it('splits the stack kinds into cluster-scoped and namespaced whitelists', () => {
    expect(project.spec.clusterResourceWhitelist).toContainEqual({ group: '', kind: 'Namespace' });
    expect(project.spec.clusterResourceWhitelist).toContainEqual({ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' });
    expect(project.spec.namespaceResourceWhitelist).toContainEqual({ group: 'apps', kind: 'Deployment' });
    expect(project.spec.namespaceResourceWhitelist).not.toContainEqual({ group: '', kind: 'Namespace' });
  });

  it('takes every setting from values', () => {
    const custom = renderArgoCd({
      argocd: {
        repoURL: 'git@git.example.com:platform/deploy.git',
        targetRevision: 'v1.2.0',
        path: 'clusters/prod',
        destination: { server: 'https://prod.example.com:6443', namespace: 'default' },
        project: 'observability',
        namespace: 'gitops',
        automated: { enabled: false, prune: false, selfHeal: false },
      },
    });
    expect(custom.application.spec.source).toMatchObject({
      repoURL: 'git@git.example.com:platform/deploy.git',
      targetRevision: 'v1.2.0',
      path: 'clusters/prod',
    });
    expect(custom.application.spec.destination).toEqual({ server: 'https://prod.example.com:6443', namespace: 'default' });
    expect(custom.application.spec.syncPolicy.automated).toEqual({ enabled: false, prune: false, selfHeal: false });
    expect(custom.application.metadata).toMatchObject({ name: 'observability', namespace: 'gitops' });
    expect(custom.project.spec.destinations.map((d: { namespace: string }) => d.namespace)).toContain('default');
    expect(crdSchemaProblems(custom.application)).toEqual([]);
    expect(crdSchemaProblems(custom.project)).toEqual([]);
  });

  it('renders objects the Argo CD CRDs accept', () => {
    expect(crdSchemaProblems(project)).toEqual([]);
    expect(crdSchemaProblems(application)).toEqual([]);
  });
});

describe('the footprint of a stack', () => {
  it('derives kinds by scope and namespaces from whatever objects are rendered', () => {
    const footprint = footprintOf([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } },
      { apiVersion: 'monitoring.example.com/v1', kind: 'Probe', metadata: { name: 'p', namespace: 'demo' } },
      { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'demo' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'other' } },
    ]);
    expect(footprint).toEqual({
      clusterResources: [
        { group: '', kind: 'Namespace' },
        { group: 'storage.k8s.io', kind: 'StorageClass' },
      ],
      namespacedResources: [
        { group: '', kind: 'ConfigMap' },
        { group: 'monitoring.example.com', kind: 'Probe' },
      ],
      namespaces: ['demo', 'other'],
    });
  });
});

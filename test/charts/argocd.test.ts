import { describe, expect, it } from 'vitest';
import { ArgoCd } from '../../charts/argocd.ts';
import { freshApp, synthChart } from './alone.ts';

describe('Argo CD, built alone', () => {
  const repoURL = 'https://git.example.com/platform/sightline.git';
  const footprint = {
    clusterResources: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }],
    namespacedResources: [{ group: '', kind: 'Service' }],
    namespaces: ['obs', 'obs-agents'],
  };
  const c = synthChart(
    new ArgoCd(freshApp(), 'argocd', {
      namespace: 'argocd',
      project: 'sightline',
      repoURL,
      targetRevision: 'main',
      path: 'rendered/production',
      server: 'https://kubernetes.default.svc',
      destinationNamespace: 'obs',
      automated: { enabled: true, prune: false, selfHeal: true },
      footprint,
    }),
  );
  const project = c.find('AppProject', 'sightline');
  const application = c.find('Application', 'sightline');

  it('syncs the folder its props name from the repository, into the destination namespace, in its project', () => {
    expect(application.spec.source).toMatchObject({ repoURL, targetRevision: 'main', path: 'rendered/production' });
    expect(application.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'obs' });
    expect(application.spec.project).toBe('sightline');
    expect(application.spec.syncPolicy.automated).toEqual({ enabled: true, prune: false, selfHeal: true });
  });

  it('confines the project to the repository and to exactly the footprint it was given', () => {
    expect(project.spec.sourceRepos).toEqual([repoURL]);
    expect(project.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual(['obs', 'obs-agents']);
    expect(project.spec.clusterResourceWhitelist).toEqual(footprint.clusterResources);
    expect(project.spec.namespaceResourceWhitelist).toEqual(footprint.namespacedResources);
  });
});

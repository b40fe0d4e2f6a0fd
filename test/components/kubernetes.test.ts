/**
 * The rendered folders against a real Kubernetes 1.36 API server (kube-apiserver + etcd, started here on
 * loopback): `kubectl apply -f <folder>` in one pass without a warning, every object read back, a second apply
 * that reports every object `unchanged`, server-side apply and server dry runs that agree with it, and a Pod from every
 * workload's template admitted by the Pod Security admission plugin. The Argo CD folder applies once the
 * vendored Argo CD CRDs are installed, and a wrong field in it is rejected.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInKubectlOrder, ROOT } from '../delivery.ts';
import type { K8sObject } from '../support.ts';
import { clusterForBlock, describeWithComponents, KUBERNETES_BINARIES, stackFolders, waitFor } from './support.ts';

const STACK_FOLDERS = stackFolders();
const ARGOCD_FOLDERS = readdirSync(join(ROOT, 'rendered'))
  .filter((d) => d.endsWith('-argocd'))
  .map((d) => `rendered/${d}`);
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

const key = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** The items of kubectl's JSON output (one object, or a List of them). */
function items(stdout: string): K8sObject[] {
  const parsed = JSON.parse(stdout) as K8sObject & { items?: K8sObject[] };
  return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
}

/** An object as the API server keeps it, without what changes on every write or names the writer. */
function comparable(object: K8sObject): K8sObject {
  const { resourceVersion, managedFields, generation, creationTimestamp, uid, annotations, ...metadata } = object.metadata as any;
  const { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, ...kept } = annotations ?? {};
  const { status, ...rest } = object;
  return { ...rest, metadata: { ...metadata, ...(Object.keys(kept).length > 0 ? { annotations: kept } : {}) } } as K8sObject;
}

function byKey(objects: readonly K8sObject[]): Map<string, K8sObject> {
  return new Map(objects.map((o) => [key(o), comparable(o)]));
}

/**
 * kubectl's `configured` line for an object that client-side apply re-sends on every apply however it is
 * written (the server then stores nothing new): a PodDisruptionBudget, whose `selector` has the patch strategy
 * `replace`, which kubectl's strategic merge always puts in the patch (apimachinery v0.36.3,
 * strategicpatch.handleMapDiff); and a StatefulSet with claim templates, an atomic list that kubectl compares
 * whole, to which the server adds `apiVersion`, `kind` and `status` (fields cdk8s's typed claim template drops).
 */
function alwaysResent(o: K8sObject): string[] {
  if (o.kind === 'PodDisruptionBudget') return [`poddisruptionbudget.policy/${o.metadata.name} configured`];
  if (o.kind === 'StatefulSet' && (o['spec'].volumeClaimTemplates ?? []).length > 0) return [`statefulset.apps/${o.metadata.name} configured`];
  return [];
}

/** What the workload's controller would create: a Pod of its template (StatefulSets: its claims as volumes). */
function podOf(workload: K8sObject): K8sObject {
  const template = workload['spec'].template;
  const claims = (workload['spec'].volumeClaimTemplates ?? []).map((claim: K8sObject) => ({
    name: claim.metadata.name,
    persistentVolumeClaim: { claimName: `${claim.metadata.name}-${workload.metadata.name}-0` },
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${workload.metadata.name}-admission-probe`, namespace: workload.metadata.namespace!, labels: template.metadata?.labels ?? {} },
    spec: { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims] },
  };
}

describeWithComponents('the rendered folders under a real kube-apiserver', KUBERNETES_BINARIES, (bin) => {
  describe.each(STACK_FOLDERS)('%s', (folder) => {
    const dir = join(ROOT, folder);
    const rendered = readInKubectlOrder(dir).map((a) => a.object);
    const cluster = clusterForBlock(bin);

    it('applies with kubectl apply -f in one pass, without a warning', () => {
      const result = cluster().kubectl(['apply', '-f', dir]);

      expect(result.stderr, 'kubectl apply stderr (errors and warnings, PodSecurity ones included)').toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout.trim().split('\n')).toHaveLength(rendered.length);
    });

    it('reads every rendered object back from the API server', () => {
      const result = cluster().kubectl(['get', '-f', dir, '-o', 'json']);

      expect(result.stderr).toBe('');
      expect(items(result.stdout).map(key).sort()).toEqual(rendered.map(key).sort());
    });

    it('changes nothing when applied a second time', () => {
      const versions = () =>
        items(cluster().kubectl(['get', '-f', dir, '-o', 'json']).stdout).map(
          (o) => `${key(o)} ${(o.metadata as { resourceVersion?: string }).resourceVersion}`,
        );
      const before = versions();

      const again = cluster().kubectl(['apply', '-f', dir]);
      const diff = cluster().kubectl(['diff', '-f', dir]);

      expect(again.stderr).toBe('');
      expect(again.status).toBe(0);
      // `configured` would mean the file holds a value the server drops or rewrites (an empty list, a false or
      // zero default, 2000m for 2): kubectl re-sends it on every apply, and Argo CD sees drift. Only the objects
      // of alwaysResent() may say it, and then without a new version (below).
      expect(
        again.stdout
          .trim()
          .split('\n')
          .filter((line) => !line.endsWith(' unchanged'))
          .sort(),
        'objects the second apply did not report unchanged',
      ).toEqual(rendered.flatMap(alwaysResent).sort());
      expect(again.stdout.trim().split('\n')).toHaveLength(rendered.length);
      expect(versions()).toEqual(before);
      expect(diff.stdout + diff.stderr, 'kubectl diff').toBe('');
      expect(diff.status).toBe(0);
    });

    it('gives the same objects under server-side apply and under server dry runs of both kinds of apply', () => {
      const live = byKey(items(cluster().kubectl(['get', '-f', dir, '-o', 'json']).stdout));
      const clientDryRun = cluster().kubectl(['apply', '--dry-run=server', '-f', dir, '-o', 'json']);
      const serverDryRun = cluster().kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', dir, '-o', 'json']);

      expect(clientDryRun.stderr).toBe('');
      expect(serverDryRun.stderr).toBe('');
      expect(byKey(items(clientDryRun.stdout))).toEqual(live);
      expect(byKey(items(serverDryRun.stdout))).toEqual(live);

      const serverSide = cluster().kubectl(['apply', '--server-side', '--force-conflicts', '-f', dir]);
      expect(serverSide.stderr).toBe('');
      expect(serverSide.status).toBe(0);
      expect(byKey(items(cluster().kubectl(['get', '-f', dir, '-o', 'json']).stdout))).toEqual(live);
    });

    it("admits a Pod of every workload's template under its namespace's Pod Security level", () => {
      const workloads = rendered.filter((o) => WORKLOADS.has(o.kind));
      expect(workloads.length).toBeGreaterThan(0);
      // Each namespace's default ServiceAccount is the controller manager's to create; none runs here.
      for (const namespace of new Set(workloads.map((w) => w.metadata.namespace!))) {
        if (cluster().kubectl(['-n', namespace, 'get', 'serviceaccount', 'default']).status !== 0) {
          expect(cluster().kubectl(['-n', namespace, 'create', 'serviceaccount', 'default']).status).toBe(0);
        }
      }

      const refused = workloads.flatMap((workload) => {
        const result = cluster().kubectl(['create', '-f', '-'], JSON.stringify(podOf(workload)));
        return result.status === 0 && result.stderr === '' ? [] : [`${key(workload)}: ${result.stderr.trim()}`];
      });

      expect(refused).toEqual([]);
    });
  });

  describe.each(ARGOCD_FOLDERS)('%s', (folder) => {
    const dir = join(ROOT, folder);
    const rendered = readInKubectlOrder(dir).map((a) => a.object);
    // Argo CD's install creates its CRDs (too large for client-side apply's annotation) and its namespace.
    const cluster = clusterForBlock(bin, (started) => {
      const crds = started.kubectl(['apply', '--server-side', '-f', join(ROOT, 'crds')]);
      if (crds.status !== 0) throw new Error(`installing crds/ failed: ${crds.stderr}`);
      for (const namespace of new Set(rendered.map((o) => o.metadata.namespace).filter((n) => n !== undefined))) {
        started.kubectl(['create', 'namespace', namespace]);
      }
      return waitFor('the Argo CD CRDs to be established', () => {
        const conditions = started.kubectl([
          'get',
          '-f',
          join(ROOT, 'crds'),
          '-o',
          'jsonpath={.items[*].status.conditions[?(@.type=="Established")].status}',
        ]);
        return conditions.stdout.split(' ').filter((s) => s === 'True').length ===
          readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).length
          ? true
          : undefined;
      });
    });

    it('applies once the Argo CD CRDs are installed, without a warning, and reads back', () => {
      const result = cluster().kubectl(['apply', '-f', dir]);

      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const back = cluster().kubectl(['get', '-f', dir, '-o', 'json']);
      expect(items(back.stdout).map(key).sort()).toEqual(rendered.map(key).sort());
      expect(
        cluster()
          .kubectl(['apply', '-f', dir])
          .stdout.trim()
          .split('\n')
          .filter((line) => !line.endsWith(' unchanged')),
      ).toEqual([]);
    });

    it('is rejected by the CRD schema when a field is unknown or of the wrong type', () => {
      const application = rendered.find((o) => o.kind === 'Application')!;
      const unknownField = { ...application, spec: { ...application['spec'], syncPolicy: { ...application['spec'].syncPolicy, autoSync: true } } };
      const wrongType = { ...application, spec: { ...application['spec'], source: { ...application['spec'].source, directory: { recurse: 'no' } } } };

      const unknown = cluster().kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(unknownField));
      const wrong = cluster().kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(wrongType));

      expect(unknown.status).not.toBe(0);
      expect(unknown.stderr).toContain('unknown field "spec.syncPolicy.autoSync"');
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain('spec.source.directory.recurse');
    });
  });
});

import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Application } from '../imports/argocd-application-argoproj.io.js';
import { AppProject } from '../imports/argocd-appproject-argoproj.io.js';
import type { Manifest } from './shared/delivery.ts';
import { PART_OF } from './shared/labels.ts';

/** An API group and kind, as Argo CD's resource whitelists name them (`''` is the core group). */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/** What a rendered stack puts into a cluster, and so exactly what its AppProject allows. */
export interface StackFootprint {
  /** Kinds of the cluster-scoped objects (rendered without a namespace). */
  readonly clusterResources: readonly GroupKind[];
  /** Kinds of the namespaced objects. */
  readonly namespacedResources: readonly GroupKind[];
  /** Namespaces the stack creates or puts objects in. */
  readonly namespaces: readonly string[];
}

/** The footprint of rendered objects, sorted so that the AppProject renders the same bytes every time. */
export function footprintOf(manifests: readonly Manifest[]): StackFootprint {
  const kinds = (namespaced: boolean): GroupKind[] => {
    const unique = new Map<string, GroupKind>();
    for (const m of manifests) {
      const groupKind = { group: groupOf(m.apiVersion), kind: m.kind };
      if ((m.metadata.namespace !== undefined) === namespaced) unique.set(`${groupKind.group} ${groupKind.kind}`, groupKind);
    }
    return [...unique.keys()].sort().map((key) => unique.get(key)!);
  };
  const namespaces = manifests.flatMap((m) =>
    m.kind === 'Namespace' ? [m.metadata.name] : m.metadata.namespace !== undefined ? [m.metadata.namespace] : [],
  );
  return { clusterResources: kinds(false), namespacedResources: kinds(true), namespaces: [...new Set(namespaces)].sort() };
}

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → `''`). */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** Properties of {@link ArgoCd}. */
export interface ArgoCdProps {
  /** Namespace Argo CD runs in: the Application and the AppProject live there. */
  readonly namespace: string;
  /** Name of the AppProject, and of the Application in it. */
  readonly project: string;
  /** Repository holding the rendered stack. */
  readonly repoURL: string;
  /** Branch, tag or commit synced. */
  readonly targetRevision: string;
  /** Folder of the rendered stack in the repository. */
  readonly path: string;
  /** API server of the cluster the stack goes to. */
  readonly server: string;
  /** Namespace for objects that name none; the AppProject allows it too. */
  readonly destinationNamespace: string;
  /** Automated sync, and whether it prunes and self-heals. */
  readonly automated: { readonly enabled: boolean; readonly prune: boolean; readonly selfHeal: boolean };
  /** Everything the stack renders: the AppProject allows exactly these kinds and namespaces. */
  readonly footprint: StackFootprint;
}

/**
 * The GitOps output: an `AppProject` that allows exactly what the stack renders (its kinds, split into
 * cluster-scoped and namespaced, its namespaces, and only its repository), and an `Application` in that
 * project that syncs the rendered folder.
 *
 * The Application has no resources finalizer: deleting it leaves the stack running, so a mistaken delete
 * never takes Prometheus's data with it.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/
 */
export class ArgoCd extends Chart {
  /** The AppProject (rendered first, so `kubectl apply` creates it before the Application that names it). */
  public readonly appProject: AppProject;
  /** The Application. */
  public readonly application: Application;

  public constructor(scope: Construct, id: string, props: ArgoCdProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const metadata = { name: props.project, labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' } };
    const namespaces = [...new Set([...props.footprint.namespaces, props.destinationNamespace])].sort();

    this.appProject = new AppProject(this, 'AppProject', {
      metadata,
      spec: {
        description: `Sightline: exactly the kinds and namespaces rendered in ${props.path}`,
        sourceRepos: [props.repoURL],
        destinations: namespaces.map((namespace) => ({ server: props.server, namespace })),
        clusterResourceWhitelist: [...props.footprint.clusterResources],
        namespaceResourceWhitelist: [...props.footprint.namespacedResources],
      },
    });

    this.application = new Application(this, 'Application', {
      metadata,
      spec: {
        project: props.project,
        source: {
          repoUrl: props.repoURL,
          targetRevision: props.targetRevision,
          path: props.path,
          // Plain manifests, stated so: Argo CD never guesses a tool from a file that lands in the folder.
          directory: { recurse: false },
        },
        destination: { server: props.server, namespace: props.destinationNamespace },
        syncPolicy: { automated: { ...props.automated } },
      },
    });
    this.application.addDependency(this.appProject);
  }
}

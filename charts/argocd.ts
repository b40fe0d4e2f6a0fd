import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { Application } from '../imports/argocd-application-argoproj.io.js';
import { AppProject } from '../imports/argocd-appproject-argoproj.io.js';
import type { Manifest } from './shared/delivery.ts';
import { PART_OF } from './shared/labels.ts';
import { dnsLabel } from './shared/fields.ts';
import { isGitRevision } from './shared/units.ts';

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

/** A Git repository URL as Argo CD takes it: https, ssh, or the scp-like `git@host:path`. */
const gitRepositoryUrl = () =>
  z.string().regex(/^((https?|ssh|git):\/\/[^\s/]+\/\S+|[\w.-]+@[\w.-]+:\S+)$/, {
    error: 'is not a Git repository URL (https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git)',
  });

/** A folder inside the repository: relative, `/`-separated, never climbing out with `..`. */
const repositoryFolder = () =>
  z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\s\\]+$/, { error: 'is not a folder relative to the repository root (like dist or rendered/production)' });

/**
 * The optional GitOps output: an Argo CD `Application` syncing the rendered folder and the `AppProject` that
 * confines it to what the stack renders. Absent (the default), nothing of Argo CD is rendered.
 */
export const argocdValues = z.strictObject({
  repoURL: gitRepositoryUrl().describe(
    'Repository Argo CD pulls the rendered manifests from (spec.source.repoURL); the AppProject allows only this one.',
  ),
  targetRevision: z
    .string()
    .refine(isGitRevision, {
      error:
        'is not a Git revision: a branch or tag name as git check-ref-format allows it (no spaces, ~, ^, :, ?, *, [, \\, "..", "@{", no component starting with . or ending in .lock), a commit SHA, or HEAD',
    })
    .default('HEAD')
    .describe('Branch, tag or commit to sync (spec.source.targetRevision).'),
  path: repositoryFolder()
    .optional()
    .describe(
      'Folder of the rendered stack in that repository (spec.source.path). Default: the output folder of the render, relative to the repository root (dist for `npm run synth`).',
    ),
  destination: z
    .strictObject({
      server: z
        .string()
        .regex(/^https:\/\/\S+$/, { error: 'is not an API server URL like https://kubernetes.default.svc' })
        .default('https://kubernetes.default.svc')
        .describe('API server of the cluster the stack goes to; the default is the cluster Argo CD runs in.'),
      namespace: dnsLabel().optional().describe('Namespace for objects that name none (spec.destination.namespace). Default: the stack namespace.'),
    })
    .prefault({}),
  project: dnsLabel()
    .default('sightline')
    .describe('Name of the AppProject, which allows exactly the kinds and namespaces the stack renders; the Application has the same name.'),
  namespace: dnsLabel().default('argocd').describe('Namespace Argo CD runs in, where the Application and AppProject live.'),
  automated: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Sync every new commit without a click (spec.syncPolicy.automated.enabled).'),
      prune: z.boolean().default(true).describe('Delete objects that left the rendered folder (spec.syncPolicy.automated.prune).'),
      selfHeal: z.boolean().default(true).describe('Undo changes made in the cluster by hand (spec.syncPolicy.automated.selfHeal).'),
    })
    .prefault({}),
});

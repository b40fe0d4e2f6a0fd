/**
 * How the rendered stack reaches a cluster: in one `kubectl apply -f dist`, and through an Argo CD sync of the
 * same folder. Both policies are applied to every object of the stack by kind, never per component, so a
 * component added later is covered without knowing it exists.
 */
import { ApiObject, type App } from 'cdk8s';

/** A rendered Kubernetes object, as far as delivery looks at it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly annotations?: Readonly<Record<string, string>> };
}

/** @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/ */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/ */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
/** What client-side apply (`kubectl apply`, and Argo CD by default) stores a copy of the whole object in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Kubernetes rejects an object whose annotations (keys and values) add up to more bytes than this. */
export const ANNOTATIONS_BYTES_LIMIT = 262_144;

/**
 * Argo CD's sync waves, in order: it applies a wave and waits until all of it is healthy before the next.
 *
 * - `foundations`: Namespaces (and CRDs, should the stack ever render one): nothing else can exist before them.
 * - `configuration`: what pods read when they start and what is healthy the moment it exists: service
 *   accounts, RBAC, ConfigMaps, Secrets; and what admits or governs pods, which must be in place before the
 *   first pod starts: NetworkPolicies (no pod runs a moment unprotected), PriorityClasses and ResourceQuotas
 *   (a pod naming a class that does not exist yet is refused).
 * - `workloads`: the workloads, and everything whose health waits on them. PersistentVolumeClaims belong
 *   here, not with the configuration: with a `WaitForFirstConsumer` StorageClass a claim stays Pending
 *   (Progressing to Argo CD) until a pod mounts it, so a claim in an earlier wave deadlocks the sync
 *   (argoproj/argo-cd#12840). Services belong here too: a LoadBalancer Service is Progressing until the
 *   cloud assigns an address, which must not hold the workloads back. Within a wave Argo CD still creates
 *   claims and Services before Deployments (its kind order), so pods start with both in place.
 *
 * A kind this list does not know goes with the workloads: the last wave waits for nothing after it.
 */
export const SYNC_WAVES = { foundations: 0, configuration: 1, workloads: 2 } as const;

const FOUNDATION_KINDS: ReadonlySet<string> = new Set(['Namespace', 'CustomResourceDefinition']);
const CONFIGURATION_KINDS: ReadonlySet<string> = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'NetworkPolicy',
  'PriorityClass',
  'ResourceQuota',
]);

/** The sync wave of an object of `kind` (see {@link SYNC_WAVES}). */
export function syncWave(kind: string): number {
  if (FOUNDATION_KINDS.has(kind)) return SYNC_WAVES.foundations;
  if (CONFIGURATION_KINDS.has(kind)) return SYNC_WAVES.configuration;
  return SYNC_WAVES.workloads;
}

/**
 * Bytes the annotations of `manifest` take after a client-side apply: its own annotations plus the
 * last-applied annotation, whose value is the object as kubectl encodes it (compact JSON with Go's escaping
 * of `<`, `>` and `&`, which PromQL in dashboards and rules is full of, and a trailing newline).
 */
export function clientSideApplyBytes(manifest: Manifest): number {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const own = Object.entries(manifest.metadata.annotations ?? {}).filter(([key]) => key !== LAST_APPLIED_ANNOTATION);
  const goJson = JSON.stringify(manifest).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return own.reduce((sum, [key, value]) => sum + bytes(key) + bytes(value), 0) + bytes(LAST_APPLIED_ANNOTATION) + bytes(`${goJson}\n`);
}

/**
 * Objects above this many annotation bytes under client-side apply are synced by Argo CD with server-side
 * apply, which keeps no copy of the object in an annotation. Argo CD adds its own tracking annotation to
 * every object, and so to the copy too, so its budget is smaller than kubectl's by an amount that grows with
 * the Application's and the object's names; half the limit keeps every such object clear of it, with room
 * for a dashboard to grow. `kubectl apply -f dist` has no such escape: the contract test holds every object
 * under the limit itself.
 */
export const SERVER_SIDE_APPLY_ABOVE_BYTES = ANNOTATIONS_BYTES_LIMIT / 2;

/**
 * Kinds Argo CD must never delete, whatever the Application's prune setting: a PersistentVolumeClaim takes its
 * volume (Prometheus's TSDB, Loki's logs, Tempo's traces, Grafana's database) with it under the usual
 * `Delete` reclaim policy, and a Namespace everything in it. Renaming one in code, or moving it to another
 * namespace, would otherwise delete the old one on the next sync; this way the old object stays, shown as
 * needing pruning, until someone deletes it by hand.
 */
export const NEVER_DELETED_KINDS: ReadonlySet<string> = new Set(['PersistentVolumeClaim', 'Namespace']);
/**
 * The sync options that keep an object: `Prune=false` (not pruned when it leaves the folder) and
 * `Delete=false` (left in place when the Application itself is deleted).
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#no-prune-resources
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#no-resource-deletion
 */
export const NEVER_DELETE_OPTIONS: readonly string[] = ['Prune=false', 'Delete=false'];

/**
 * Makes every chart depend on each chart that creates a Namespace. cdk8s numbers files in dependency order,
 * and `kubectl apply -f dir` reads files in name order, so one apply creates every namespace before anything
 * in it, whichever components exist.
 */
export function namespacesFirst(app: App): void {
  const createsNamespace = app.charts.filter((chart) => chart.node.findAll().some((c) => ApiObject.isApiObject(c) && c.kind === 'Namespace'));
  for (const chart of app.charts) {
    if (!createsNamespace.includes(chart)) chart.addDependency(...createsNamespace);
  }
}

/**
 * Annotates every object of `app` for Argo CD: its sync wave by kind, the options that keep claims and
 * namespaces ({@link NEVER_DELETED_KINDS}), and server-side apply where its size needs it. A wave or sync
 * option a component set itself is kept; options are one comma-separated annotation. Call it once every chart is complete (hubs
 * filled): sizes are measured on the final objects.
 *
 * @returns every object as rendered before these annotations, for what is derived from the whole stack
 */
export function annotateForArgoCd(app: App): Manifest[] {
  const objects = app.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c));
  return objects.map((object) => {
    const manifest = object.toJson() as Manifest;
    const own = manifest.metadata.annotations ?? {};
    const wave = own[SYNC_WAVE_ANNOTATION] ?? String(syncWave(object.kind));
    object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, wave);
    const options = (own[SYNC_OPTIONS_ANNOTATION] ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
    if (NEVER_DELETED_KINDS.has(object.kind)) options.push(...NEVER_DELETE_OPTIONS.filter((o) => !options.includes(o)));
    // Measured as rendered, wave and options included.
    const annotations = { ...own, [SYNC_WAVE_ANNOTATION]: wave, ...(options.length > 0 && { [SYNC_OPTIONS_ANNOTATION]: options.join(',') }) };
    if (clientSideApplyBytes({ ...manifest, metadata: { ...manifest.metadata, annotations } }) > SERVER_SIDE_APPLY_ABOVE_BYTES) {
      options.push('ServerSideApply=true');
    }
    if (options.length > 0) object.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, options.join(','));
    return manifest;
  });
}

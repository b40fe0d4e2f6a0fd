import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { ComponentIdentity } from './labels.ts';
import type { KubernetesResource } from './scrape.ts';
import { recommendedLabels, selectorLabels } from './labels.ts';
import { SYNC_OPTIONS_ANNOTATION } from './delivery.ts';
import { recordServicePods } from './network.ts';
import { millicores, seconds } from './units.ts';

/** CPU and memory of one container, as Kubernetes quantities (`250m`, `1`; `256Mi`, `2Gi`). */
export interface ResourceQuantities {
  /** CPU, e.g. `250m` or `2`. */
  readonly cpu: string;
  /** Memory, e.g. `256Mi` or `2Gi`. */
  readonly memory: string;
}

/** Requests and limits of one container. Both are always stated: kplus would otherwise invent them. */
export interface ContainerResourceValues {
  /** What the scheduler reserves. */
  readonly requests: ResourceQuantities;
  /** The ceiling; memory over it is an OOM kill. */
  readonly limits: ResourceQuantities;
}

/** Pod-template annotation holding the checksum of a workload's configuration. */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';

/**
 * Puts the checksum of one more mounted config (rules, a dashboard) on the pod template as `checksum/<name>`,
 * so that a change to it rolls the pods like a change to the main configuration does.
 */
export function addConfigChecksum(workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet, name: string, checksum: string): void {
  workload.podMetadata.addAnnotation(`checksum/${name}`, checksum);
}

// Units in props, one policy: a duration is text in the stack's syntax (`10m`, `15d`: DURATION in units.ts) and a
// size is quantity (`10Gi`) or byte-size (`8GB`) text, as the values hold them once validated, so props print,
// compare and reach component configs unchanged. A cdk8s Duration or Size is made only where a kplus call demands
// one, by the helpers here (`startupProbe`, `size`); a config that wants another syntax converts the text where it
// writes it (Tempo's Go durations). Fixed component facts (a probe period) stay literal Durations at their call.

/**
 * A startup probe that gives a container `budget` (a validated duration) to start: liveness and readiness wait
 * until it passed once, so a long start (a WAL replay, a database migration) is not killed by a liveness probe
 * and started over.
 */
export function startupProbe(path: string, port: number, budget: string): kplus.Probe {
  const period = 10;
  return kplus.Probe.fromHttpGet(path, {
    port,
    periodSeconds: Duration.seconds(period),
    timeoutSeconds: Duration.seconds(4),
    failureThreshold: Math.ceil(seconds(budget) / period),
  });
}

/**
 * Converts a validated CPU quantity (`500m`, `2`, `0.5`) to kplus, in the form the API server stores: whole
 * cores as cores (`2`, never `2000m`, which the server rewrites, so that every apply would report a change).
 */
export function cpu(quantity: string): kplus.Cpu {
  const millis = millicores(quantity);
  return millis % 1000 === 0 ? kplus.Cpu.units(millis / 1000) : kplus.Cpu.millis(millis);
}

/** Converts a validated memory or storage quantity (`512Mi`, `2Gi`, `1Ti`) to a cdk8s Size. */
export function size(quantity: string): Size {
  const amount = Number(quantity.slice(0, -2));
  switch (quantity.slice(-2)) {
    case 'Mi':
      return Size.mebibytes(amount);
    case 'Gi':
      return Size.gibibytes(amount);
    case 'Ti':
      return Size.tebibytes(amount);
    default:
      throw new Error(`${quantity} is not a quantity in Mi, Gi or Ti`);
  }
}

/** kplus resources from values: requests and limits, both explicit. */
export function containerResources(values: ContainerResourceValues): kplus.ContainerResources {
  return {
    cpu: { request: cpu(values.requests.cpu), limit: cpu(values.limits.cpu) },
    memory: { request: size(values.requests.memory), limit: size(values.limits.memory) },
  };
}

/**
 * Container security context for Pod Security Standards `restricted`: non-root as the image's own user,
 * no privilege escalation, every capability dropped, the runtime's default seccomp profile and a read-only
 * root filesystem (a container that writes gets an emptyDir or a volume at exactly that path).
 */
export function restrictedContainerSecurity(user: number): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user,
    group: user,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/**
 * The container settings every component shares: the pinned image pulled only when absent (a tag never
 * moves, and a locally loaded demo image must not be pulled), the restricted security context as the image's
 * user, and explicit requests and limits.
 */
export function hardenedContainer(props: {
  readonly image: string;
  readonly user: number;
  readonly resources: ContainerResourceValues;
}): Pick<kplus.ContainerProps, 'image' | 'imagePullPolicy' | 'securityContext' | 'resources'> {
  return {
    image: props.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    securityContext: restrictedContainerSecurity(props.user),
    resources: containerResources(props.resources),
  };
}

/**
 * Removes the namespace a namespaced chart stamps on every object from a cluster-scoped one (ClusterRole,
 * ClusterRoleBinding), where it means nothing and shows up as a perpetual diff in Argo CD.
 */
export function clusterScoped<T extends Construct>(construct: T): T {
  ApiObject.of(construct).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return construct;
}

/**
 * The identity a component reads the cluster with: a ServiceAccount named after it and a ClusterRole
 * `<namespace>-<name>` bound to it (cluster-scoped names carry the namespace, so two installations never share
 * one). The role starts empty: the component grants exactly what it reads. The token is not mounted by the
 * account; the workload that needs it says so.
 */
export function clusterReader(
  scope: Construct,
  props: { readonly name: string; readonly namespace: string; readonly labels: Readonly<Record<string, string>> },
): { readonly serviceAccount: kplus.ServiceAccount; readonly clusterRole: kplus.ClusterRole } {
  const labels = { ...props.labels };
  const serviceAccount = new kplus.ServiceAccount(scope, 'ServiceAccount', { metadata: { name: props.name, labels }, automountToken: false });
  const roleName = `${props.namespace}-${props.name}`;
  const clusterRole = clusterScoped(new kplus.ClusterRole(scope, 'ClusterRole', { metadata: { name: roleName, labels } }));
  clusterScoped(new kplus.ClusterRoleBinding(scope, 'ClusterRoleBinding', { metadata: { name: roleName, labels }, role: clusterRole })).addSubjects(
    serviceAccount,
  );
  return { serviceAccount, clusterRole };
}

/**
 * Lets `role` list and watch what Kubernetes service discovery reads, and nothing more: discovery runs
 * informers, which never `get` a single object. Resources the role already has are skipped.
 */
export function allowDiscovery(role: kplus.ClusterRole, resources: readonly KubernetesResource[]): void {
  const granted = grantedDiscovery.get(role) ?? new Set<string>();
  grantedDiscovery.set(role, granted);
  for (const { apiGroup, resource } of resources) {
    const key = `${apiGroup}/${resource}`;
    if (granted.has(key)) continue;
    granted.add(key);
    role.allow(['list', 'watch'], kplus.ApiResource.custom({ apiGroup, resourceType: resource }));
  }
}

const grantedDiscovery = new WeakMap<kplus.ClusterRole, Set<string>>();

/**
 * Pod security context for a workload whose volumes must be writable by the image's user: `fsGroup` makes
 * the volume group-owned by that user, and `OnRootMismatch` skips the recursive chown on every restart once
 * the volume is right (a full chown of a large TSDB delays startup by minutes).
 */
export function podSecurity(user: number): kplus.PodSecurityContextProps {
  return {
    ensureNonRoot: true,
    user,
    group: user,
    fsGroup: user,
    fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
  };
}

/**
 * The ReadWriteOnce claim holding a workload's data. Only one pod can mount it, so the workload is a
 * single-replica StatefulSet ({@link storeStatefulSet}) or a Deployment with `persistent: true`
 * ({@link stackDeployment}).
 *
 * Argo CD never prunes it (`Prune=false`): a claim that leaves the rendered folder (a rename, a component
 * switched off) keeps its data until someone deletes it on purpose.
 */
export function dataClaim(
  scope: Construct,
  props: { readonly name: string; readonly labels: Record<string, string>; readonly storage: string; readonly storageClassName?: string },
): kplus.PersistentVolumeClaim {
  return new kplus.PersistentVolumeClaim(scope, 'Data', {
    metadata: { name: props.name, labels: props.labels, annotations: { [SYNC_OPTIONS_ANNOTATION]: 'Prune=false' } },
    accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
    storage: size(props.storage),
    storageClassName: props.storageClassName,
  });
}

/**
 * A ReadWriteOnce claim per pod of a StatefulSet (`<name>-<statefulset>-<ordinal>`), mounted at `mountPath` in its
 * first container: kplus has no volumeClaimTemplates, so they are patched in. A StatefulSet's claim templates
 * cannot change once created: growing them later means resizing each claim, then recreating the StatefulSet
 * with `kubectl delete --cascade=orphan`. The L1 object maps the patched JSON through its typed props, hence
 * the Quantity object for the size.
 */
export function perPodClaims(
  statefulSet: kplus.StatefulSet,
  props: {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly storage: string;
    readonly storageClassName?: string;
    readonly mountPath: string;
  },
): void {
  ApiObject.of(statefulSet).addJsonPatch(
    JsonPatch.add('/spec/volumeClaimTemplates', [
      {
        metadata: { name: props.name, labels: props.labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: kplus.k8s.Quantity.fromString(props.storage) } },
          ...(props.storageClassName !== undefined && { storageClassName: props.storageClassName }),
        },
      },
    ]),
    JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: props.name, mountPath: props.mountPath }),
  );
}

/** What every replicated workload of the stack states: who it is, how many pods, as whom, with what. */
export interface StackWorkloadProps {
  /** Who the workload is: its labels and selector come from this. */
  readonly identity: ComponentIdentity;
  /** Name of the workload. */
  readonly name: string;
  /** Pod count. */
  readonly replicas: number;
  /** The image's user, which the pods run as and which owns their volumes. */
  readonly user: number;
  /** ServiceAccount of the pods; its token is mounted only if given. @default - no account, no token */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** Checksum of the mounted configuration, put on the pod template so a change rolls the pods. @default - none */
  readonly configChecksum?: string;
  /** Seconds between SIGTERM and SIGKILL. @default 30 */
  readonly terminationGracePeriodSeconds?: number;
}

/** Properties of {@link stackDeployment}. */
export interface StackDeploymentProps extends StackWorkloadProps {
  /**
   * Whether the pods mount a ReadWriteOnce volume. Such a Deployment must use `Recreate`: a rolling update
   * starts the new pod before the old one releases the volume, and the Multi-Attach error deadlocks it.
   */
  readonly persistent: boolean;
}

/** The kplus props every replicated workload shares: each kplus default made explicit. */
function workloadProps(props: StackWorkloadProps) {
  const labels = recommendedLabels(props.identity);
  return {
    metadata: { name: props.name, labels },
    replicas: props.replicas,
    select: false,
    podMetadata: { labels },
    serviceAccount: props.serviceAccount,
    automountServiceAccountToken: props.serviceAccount !== undefined,
    securityContext: podSecurity(props.user),
    terminationGracePeriod: Duration.seconds(props.terminationGracePeriodSeconds ?? 30),
  };
}

/** Selects the pods by identity and puts the configuration's checksum on them. */
function completeWorkload(workload: kplus.Deployment | kplus.StatefulSet, props: StackWorkloadProps): void {
  selectByIdentity(workload, props.identity);
  if (props.configChecksum !== undefined) workload.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, props.configChecksum);
}

/**
 * A Deployment with every kplus default made explicit: replicas, strategy, labels and a version-free
 * selector, security context, and the service-account token mounted only when the pods call the API.
 */
export function stackDeployment(scope: Construct, id: string, props: StackDeploymentProps): kplus.Deployment {
  const deployment = new kplus.Deployment(scope, id, {
    ...workloadProps(props),
    strategy: props.persistent
      ? kplus.DeploymentStrategy.recreate()
      : kplus.DeploymentStrategy.rollingUpdate({
          maxSurge: kplus.PercentOrAbsolute.absolute(1),
          maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
        }),
  });
  completeWorkload(deployment, props);
  if (props.replicas > 1) keepReplicasApart(deployment, props.identity);
  return deployment;
}

/**
 * What keeps several replicas of a workload serving through disruptions: a PodDisruptionBudget that lets a
 * drain take one pod at a time (never `minAvailable: <replicas>`, which would block every drain), and
 * topology spread over nodes and zones so one node or zone takes at most its share.
 *
 * The spread is a preference (`ScheduleAnyway`): a cluster with fewer nodes than replicas still runs them all.
 * For a Deployment, `pod-template-hash` keeps a rolling update's new pods spread among themselves, not against
 * the old ones; a StatefulSet replaces its pods one by one in place, so its pods are spread all together.
 * The PodDisruptionBudget is an L1 object: kplus has none.
 */
export function keepReplicasApart(workload: kplus.Deployment | kplus.StatefulSet, identity: ComponentIdentity): void {
  const selector = selectorLabels(identity);
  new kplus.k8s.KubePodDisruptionBudget(workload, 'Budget', {
    metadata: { name: workload.name, labels: recommendedLabels(identity) },
    spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
  });
  const spread = (topologyKey: string) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
    ...(workload instanceof kplus.Deployment && { matchLabelKeys: ['pod-template-hash'] }),
  });
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [spread('kubernetes.io/hostname'), spread('topology.kubernetes.io/zone')]),
  );
}

/** Properties of {@link storeStatefulSet}. */
export interface StoreStatefulSetProps extends StackWorkloadProps {
  /** The store's Service, which the StatefulSet names as its governing Service. */
  readonly service: kplus.Service;
  /**
   * Whether pods start (and scale) all at once rather than one after the other: for peers that each join a
   * cluster on their own. Immutable once the StatefulSet exists.
   * @default false
   */
  readonly parallel?: boolean;
}

/**
 * A store: one pod owning a ReadWriteOnce volume, as a StatefulSet, as upstream runs Prometheus (the
 * Prometheus Operator), Loki and Tempo (their Helm charts' single-binary modes). A StatefulSet starts a
 * replacement for its pod only once the old pod is known to be gone, so two processes never write one
 * write-ahead log, even when a node is partitioned rather than dead; a Deployment would start the
 * replacement as soon as the old pod is evicted. An update deletes the pod before starting the new one,
 * which a volume only one pod can mount needs.
 *
 * The pod mounts the claim of {@link dataClaim} by name rather than through `volumeClaimTemplates`, so the
 * claim keeps the name it had under a Deployment (`<name>-data`) and its data: switching needs no copy.
 */
export function storeStatefulSet(scope: Construct, id: string, props: StoreStatefulSetProps): kplus.StatefulSet {
  const statefulSet = new kplus.StatefulSet(scope, id, {
    ...workloadProps(props),
    // The store's own Service: a single pod needs no per-pod DNS name, which only a headless Service gives.
    service: props.service,
    podManagementPolicy: props.parallel ? kplus.PodManagementPolicy.PARALLEL : kplus.PodManagementPolicy.ORDERED_READY,
    strategy: kplus.StatefulSetUpdateStrategy.rollingUpdate({ partition: 0 }),
  });
  completeWorkload(statefulSet, props);
  // kplus makes the governing Service select the StatefulSet by its construct address too; the Service
  // already selects the pods by the stable labels of their identity.
  ApiObject.of(props.service).addJsonPatch(JsonPatch.remove('/spec/selector/cdk8s.io~1metadata.addr'));
  return statefulSet;
}

/** Properties of {@link stackDaemonSet}. */
export interface StackDaemonSetProps {
  /** Who the workload is: its labels and selector come from this. */
  readonly identity: ComponentIdentity;
  /** Name of the DaemonSet. */
  readonly name: string;
  /** The user the pods run as; 0 (root) only for node agents that must read root-owned host files. */
  readonly user: number;
  /** ServiceAccount of the pods; its token is mounted only if given. @default - no account, no token */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** Checksum of the mounted configuration, put on the pod template so a change rolls the pods. @default - none */
  readonly configChecksum?: string;
  /** Labels a node must carry (all of them) to run a pod. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Further conditions on node labels, all of which must hold as well. @default - none */
  readonly nodeLabelQueries?: readonly kplus.NodeLabelQuery[];
  /**
   * Whether the pods share the node's network namespace. They then resolve names with the node's resolver
   * (`dnsPolicy: Default`), which knows the networks the node is on; cluster DNS is not reachable that way.
   * @default false
   */
  readonly hostNetwork?: boolean;
}

/**
 * A DaemonSet on the nodes carrying some labels, with the same explicit settings as {@link stackDeployment}:
 * labels and a version-free selector, the security context, and the service-account token mounted only when
 * the pods call the API.
 */
export function stackDaemonSet(scope: Construct, id: string, props: StackDaemonSetProps): kplus.DaemonSet {
  const labels = recommendedLabels(props.identity);
  const hostNetwork = props.hostNetwork ?? false;
  const daemonSet = new kplus.DaemonSet(scope, id, {
    metadata: { name: props.name, labels },
    select: false,
    podMetadata: { labels },
    serviceAccount: props.serviceAccount,
    automountServiceAccountToken: props.serviceAccount !== undefined,
    // Root has no volume to own (a node agent reads host paths, where fsGroup does not apply).
    securityContext: props.user === 0 ? { ensureNonRoot: false, user: 0, group: 0 } : podSecurity(props.user),
    hostNetwork,
    dns: { policy: hostNetwork ? kplus.DnsPolicy.DEFAULT : kplus.DnsPolicy.CLUSTER_FIRST },
    terminationGracePeriod: Duration.seconds(30),
  });
  // One term: conditions in separate terms would be ORed.
  daemonSet.scheduling.attract(
    kplus.Node.labeled(
      ...Object.entries(props.nodeSelector).map(([key, value]) => kplus.NodeLabelQuery.is(key, value)),
      ...(props.nodeLabelQueries ?? []),
    ),
  );
  selectByIdentity(daemonSet, props.identity);
  if (props.configChecksum !== undefined) daemonSet.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, props.configChecksum);
  return daemonSet;
}

/** Selects a workload's pods by the stable labels of its identity instead of kplus's construct address. */
function selectByIdentity(workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet, identity: ComponentIdentity): void {
  workload.select(kplus.LabelSelector.of({ labels: selectorLabels(identity) }));
  // kplus labels every pod with its construct address for its own selectors; ours are the recommended labels.
  ApiObject.of(workload).addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
}

/** One port of a Service, with the container port it forwards to. */
export interface ServicePortSpec {
  /** IANA-style port name, e.g. `http`, `grpc`, `otlp-grpc`. */
  readonly name: string;
  /** Port number on the Service. */
  readonly port: number;
  /**
   * Container port the Service forwards to, when clients expect a port the container cannot bind (a
   * privileged port such as syslog's 514, for a process that does not run as root).
   * @default - the same number as `port`
   */
  readonly targetPort?: number;
  /** Transport protocol. @default TCP */
  readonly protocol?: kplus.Protocol;
}

/**
 * A Service for a workload's pods: a stable, explicit name, the workload's version-free selector, and the
 * ports by name (the container ports they target must exist; the stack test checks it).
 */
export function stackService(
  scope: Construct,
  id: string,
  props: {
    readonly name: string;
    readonly identity: ComponentIdentity;
    readonly ports: readonly ServicePortSpec[];
    readonly type?: kplus.ServiceType;
    /** Whether the Service is headless: no virtual IP, a DNS name per ready pod (as a StatefulSet's governing Service). @default false */
    readonly headless?: boolean;
  },
): kplus.Service {
  const service = new kplus.Service(scope, id, {
    metadata: { name: props.name, labels: recommendedLabels(props.identity) },
    type: props.type ?? kplus.ServiceType.CLUSTER_IP,
    clusterIP: props.headless ? 'None' : undefined,
    ports: props.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? kplus.Protocol.TCP })),
  });
  const selector = selectorLabels(props.identity);
  for (const [key, value] of Object.entries(selector)) service.selectLabel(key, value);
  recordServicePods(service, selector);
  return service;
}

/**
 * Pod-template annotation listing the Secrets a workload reads that are created out of band (by the
 * operator, never rendered into dist/). The stack test accepts exactly these as references to Secrets
 * that dist/ does not contain, and `kubectl describe` shows an operator what a pending pod waits for.
 */
export const EXTERNAL_SECRETS_ANNOTATION = 'sightline.io/external-secrets';

const externalSecretNames = new WeakMap<object, Set<string>>();

/** References a Secret created out of band and records it on the workload's pod template. */
export function externalSecret(workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet, name: string): kplus.ISecret {
  const names = externalSecretNames.get(workload) ?? new Set<string>();
  externalSecretNames.set(workload, names.add(name));
  workload.podMetadata.addAnnotation(EXTERNAL_SECRETS_ANNOTATION, [...names].sort().join(','));
  return kplus.Secret.fromSecretName(workload, `ExternalSecret-${name}`, name);
}

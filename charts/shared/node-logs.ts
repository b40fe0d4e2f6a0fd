/**
 * What the node agents read and how they label it, whichever agent runs (Promtail or Alloy): the host paths,
 * and one list of relabel rules per source, so that switching agents keeps every stream's labels and every
 * query, dashboard and trace-to-logs link working.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { ComponentIdentity } from './labels.ts';
import type { GrafanaHub } from './datasources.ts';
import type { SignalTarget } from './signal-target.ts';
import type { MetricsHub, RelabelConfig } from './scrape.ts';
import { containerResources, restrictedContainerSecurity, stackDaemonSet, type ContainerResourceValues } from './workload.ts';

/** What every node agent (Promtail, Alloy) takes: where it runs, what it ships, and where to. */
export interface NodeAgentProps {
  /** Namespace of the node agents: Pod Security must allow host paths there (`privileged`). */
  readonly namespace: string;
  /** Value of the `cluster` label on every entry. */
  readonly clusterName: string;
  /** Loki's push API (`logs.push`): the stack's Loki, or an external one. */
  readonly push: SignalTarget;
  /** The node's own logs to ship. */
  readonly nodeLogs: NodeLogSources;
  /** Requests and limits of each agent container (one per node). */
  readonly resources: ContainerResourceValues;
  /** Where the agent contributes the scrape job of its pods and its alerts. @default - the agent is not scraped */
  readonly metrics?: MetricsHub;
  /** The nodes it runs on while the cluster switches agents node by node. @default - every Linux node */
  readonly placement?: AgentPlacement;
  /** Where the agent's dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/** Which of a node's own logs the agent ships, besides the logs of the node's pods. */
export interface NodeLogSources {
  /** The systemd journal (kubelet, container runtime, kernel). */
  readonly journal: boolean;
  /** The `/var/log/*.log` files. */
  readonly files: boolean;
}

/**
 * Where Promtail keeps its read positions in its container, and the file there. Alloy mounts the same host
 * folder read-only at the same path, to start each file where Promtail stopped.
 */
export const PROMTAIL_POSITIONS = { dir: '/var/lib/promtail', file: 'positions.yaml' } as const;

/** The host folder of Promtail's positions: one per agents namespace, so that two installations never share it. */
export function promtailPositionsHostPath(namespace: string): string {
  return `/var/lib/${namespace}/promtail`;
}

/**
 * Where a node agent runs while a cluster switches agents node by node (`logs.rolloutNodeLabel`): only on the
 * nodes whose label `nodeLabel` is `value`, or on every node but those.
 */
export interface AgentPlacement {
  /** The node label key, e.g. `sightline.io/log-agent`. */
  readonly nodeLabel: string;
  /** The label value that moves a node to the other agent: that agent's name. */
  readonly value: string;
  /** `true`: only on nodes labelled `nodeLabel=value`; `false`: on every node but those. */
  readonly onLabelled: boolean;
}

/** The node label condition of a placement, for the DaemonSet's node affinity. */
export function placementQuery(placement: AgentPlacement): kplus.NodeLabelQuery {
  return placement.onLabelled
    ? kplus.NodeLabelQuery.is(placement.nodeLabel, placement.value)
    : kplus.NodeLabelQuery.notIn(placement.nodeLabel, [placement.value]);
}

/** Where the container runtime writes each pod's logs, `<namespace>_<pod>_<uid>/<container>/<n>.log`. */
export const POD_LOGS_DIR = '/var/log/pods';
/** The `job` label of the node's journal entries. */
export const JOURNAL_JOB = 'node-journal';
/** The `job` label of the node's `/var/log/*.log` files. */
export const NODE_FILES_JOB = 'node-files';
/** The node's own log files, shipped when values ask for them. */
export const NODE_FILES_GLOB = '/var/log/*.log';

/**
 * The labels of a pod's log lines, from Kubernetes pod discovery, and the files they are read from (`__path__`,
 * a glob).
 *
 * Labels: `namespace`, `pod`, `container`, `node_name`, `app` and `service_name` (the CRI parser adds
 * `stream`). `service_name` follows OpenTelemetry's rules for a pod's `service.name`, so Grafana's trace-to-logs
 * (which maps `service.name` to `service_name`) finds the logs of a span's service.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/non-normative/k8s-attributes/
 */
export function podLogRules(): RelabelConfig[] {
  const podLabel = (name: string) => `__meta_kubernetes_pod_label_${name}`;
  // A replace whose regex needs a non-empty value: listed from the weakest source to the strongest, each
  // overrides the previous only when its source is set.
  const ifSet = (source: string, target: string): RelabelConfig => ({ source_labels: [source], regex: '(.+)', target_label: target });
  return [
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node_name' },
    ifSet(podLabel('app'), 'app'),
    ifSet(podLabel('app_kubernetes_io_name'), 'app'),
    { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'service_name' },
    ifSet(podLabel('app_kubernetes_io_name'), 'service_name'),
    ifSet(podLabel('app_kubernetes_io_instance'), 'service_name'),
    ifSet('__meta_kubernetes_pod_annotation_resource_opentelemetry_io_service_name', 'service_name'),
    {
      source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'],
      separator: '/',
      target_label: '__path__',
      replacement: `${POD_LOGS_DIR}/*$1/*.log`,
    },
    // A static pod (the control plane) logs under its config hash, not the uid of its mirror pod in the API.
    {
      source_labels: [
        '__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash',
        '__meta_kubernetes_pod_annotation_kubernetes_io_config_hash',
        '__meta_kubernetes_pod_container_name',
      ],
      separator: '/',
      regex: 'true/(.*)',
      target_label: '__path__',
      replacement: `${POD_LOGS_DIR}/*$1/*.log`,
    },
  ];
}

/** The labels of the node's journal entries: node, unit, app and level (besides `job`). */
export function journalRules(): RelabelConfig[] {
  return [
    // The host name, which is the node name unless the kubelet runs with --hostname-override.
    { source_labels: ['__journal__hostname'], target_label: 'node_name' },
    { source_labels: ['__journal__systemd_unit'], target_label: 'unit' },
    { source_labels: ['__journal_syslog_identifier'], target_label: 'app' },
    { source_labels: ['__journal_priority_keyword'], target_label: 'level' },
  ];
}

/**
 * The host paths a node agent reads, mounted read-only at the same path. None is ever created on the node where
 * it would change the node's behaviour: a missing `/var/log/journal` must stay missing, since journald keeps the
 * journal on disk as soon as that directory exists (Storage=auto).
 */
export function hostLogPaths(nodeLogs: NodeLogSources): Array<{ name: string; path: string; type: kplus.HostPathVolumeType }> {
  const paths =
    nodeLogs.files || nodeLogs.journal
      ? // /var/log holds the pod logs, the log files, and the persistent journal where the node keeps one: one
        // mount of a directory every Linux node has covers a journal that may or may not be there.
        [{ name: 'var-log', path: '/var/log', type: kplus.HostPathVolumeType.DIRECTORY }]
      : [{ name: 'pod-logs', path: POD_LOGS_DIR, type: kplus.HostPathVolumeType.DIRECTORY }];
  if (nodeLogs.journal) {
    // A node without a persistent journal keeps it here, in memory; creating the directory where it is
    // missing changes nothing (journald creates it itself at every boot, on a tmpfs). The reader needs the
    // machine id to find the current journal.
    paths.push(
      { name: 'run-journal', path: '/run/log/journal', type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE },
      { name: 'machine-id', path: '/etc/machine-id', type: kplus.HostPathVolumeType.FILE },
    );
  }
  return paths;
}

/**
 * The readiness probe of a log agent: ready once its configuration is loaded and a source is being read. No
 * liveness probe goes with it: restarting an agent that has nothing to read, or whose Loki is down, fixes
 * nothing.
 */
export function agentReadiness(path: string, port: number): kplus.Probe {
  return kplus.Probe.fromHttpGet(path, {
    port,
    initialDelaySeconds: Duration.seconds(5),
    periodSeconds: Duration.seconds(10),
    timeoutSeconds: Duration.seconds(3),
    failureThreshold: 5,
  });
}

/** Properties of {@link nodeAgentDaemonSet}. */
export interface NodeAgentDaemonSetProps {
  /** Who the agent is: its labels and selector. */
  readonly identity: ComponentIdentity;
  /** Name of the DaemonSet. */
  readonly name: string;
  /** Its account, whose token pod discovery calls the API with. */
  readonly serviceAccount: kplus.IServiceAccount;
  /** Checksum of the agent's config, so that a change rolls the pods. */
  readonly configChecksum: string;
  /** The agent's container: name, image, args, ports and probe. */
  readonly container: Pick<kplus.ContainerProps, 'name' | 'image' | 'args' | 'ports' | 'readiness'>;
  /** Mounts the agent's config into its container (first, before the log paths). */
  readonly mountConfig: (container: kplus.Container) => void;
  /** Requests and limits of the agent's container. */
  readonly resources: ContainerResourceValues;
  /** The node's own logs to read, besides its pods'. */
  readonly nodeLogs: NodeLogSources;
  /** The nodes it runs on during a node-by-node switch. @default - every Linux node */
  readonly placement?: AgentPlacement;
}

/**
 * A log agent on every Linux node, tainted control-plane nodes included, reading the node's log paths
 * read-only. It runs as root only because the runtime writes pod logs (`0640 root:root`) and journald its
 * journal (`root:systemd-journal`) unreadable by anyone else; every capability is dropped, so root reads only
 * what root owns and can bind no privileged port, nothing escalates, and the root filesystem is read-only.
 * `HOSTNAME` is the node's name: the agent tails only that node's pods.
 */
export function nodeAgentDaemonSet(scope: Construct, props: NodeAgentDaemonSetProps): { daemonSet: kplus.DaemonSet; container: kplus.Container } {
  const daemonSet = stackDaemonSet(scope, 'DaemonSet', {
    identity: props.identity,
    name: props.name,
    user: 0,
    serviceAccount: props.serviceAccount,
    configChecksum: props.configChecksum,
    // Windows nodes have no such log paths.
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    nodeLabelQueries: props.placement === undefined ? [] : [placementQuery(props.placement)],
  });
  daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));
  const container = daemonSet.addContainer({
    ...props.container,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    resources: containerResources(props.resources),
    securityContext: { ...restrictedContainerSecurity(0), ensureNonRoot: false },
    envVariables: { HOSTNAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME) },
  });
  props.mountConfig(container);
  for (const { name, path, type } of hostLogPaths(props.nodeLogs)) {
    container.mount(path, kplus.Volume.fromHostPath(scope, `${name}-volume`, name, { path, type }), { readOnly: true });
  }
  return { daemonSet, container };
}

import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ConfigFiles } from './shared/config-file.ts';
import type { GrafanaHub } from './shared/datasources.ts';
import type { Endpoint } from './shared/endpoint.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import { mountPromtailConfig, promtailConfig, promtailContainer, promtailDashboard, promtailRules, PROMTAIL_METRICS_PORT_NAME, type PromtailScrapeConfig } from './shared/promtail.ts';
import { podScrapeJob, type MetricsHub, type RelabelConfig } from './shared/scrape.ts';
import { clusterScoped, containerResources, restrictedContainerSecurity, stackDaemonSet, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGES } from './versions.ts';

/** Which of a node's own logs Promtail ships, besides the logs of the node's pods. */
export interface NodeLogSources {
  /** The systemd journal (kubelet, container runtime, kernel). */
  readonly journal: boolean;
  /** The `/var/log/*.log` files. */
  readonly files: boolean;
}

/** Properties of {@link Promtail}. */
export interface PromtailProps {
  /** Namespace of the node agents: Pod Security must allow host paths there (`privileged`). */
  readonly namespace: string;
  /** Value of the `cluster` label on every entry. */
  readonly clusterName: string;
  /** Loki's push endpoint (`loki.pushEndpoint`). */
  readonly push: Endpoint;
  /** The node's own logs to ship. */
  readonly nodeLogs: NodeLogSources;
  /** Requests and limits of each Promtail container (one per node). */
  readonly resources: ContainerResourceValues;
  /** Where Promtail contributes the scrape job of its pods. @default - Promtail is not scraped */
  readonly metrics?: MetricsHub;
  /** Where the component's dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/**
 * Promtail on every node: ships the logs of the node's pods (and, as configured, its journal and log
 * files) to Loki.
 *
 * Promtail reached end of life on 2026-03-02; the last release is pinned in `versions.ts` until its
 * successor replaces it.
 *
 * @see https://github.com/grafana/loki/blob/v3.6.11/docs/sources/send-data/promtail/configuration.md
 */
export class Promtail extends Chart {
  /** Where the container runtime writes each pod's logs, `<namespace>_<pod>_<uid>/<container>/<n>.log`. */
  public static readonly POD_LOGS_DIR = '/var/log/pods';
  private static readonly POSITIONS_DIR = '/var/lib/promtail';

  /** The DaemonSet running Promtail on every Linux node. */
  public readonly daemonSet: kplus.DaemonSet;
  /** The ConfigMap holding `promtail.yaml`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: PromtailProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'promtail', component: 'log-collector', version: imageVersion(IMAGES.promtail) };
    const labels = recommendedLabels(identity);

    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'promtail', labels },
      automountToken: false,
    });
    // Discovery watches the pods of this node (pod role) and the node objects (the files job); services,
    // endpoints and nodes/proxy complete the read-only set upstream's own manifests grant.
    const clusterRole = clusterScoped(new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: `${props.namespace}-promtail`, labels } }));
    clusterRole.allowRead(
      kplus.ApiResource.NODES,
      kplus.ApiResource.custom({ apiGroup: '', resourceType: 'nodes/proxy' }),
      kplus.ApiResource.SERVICES,
      kplus.ApiResource.ENDPOINTS,
      kplus.ApiResource.PODS,
    );
    clusterScoped(new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${props.namespace}-promtail`, labels },
      role: clusterRole,
    })).addSubjects(serviceAccount);

    const scrapeConfigs: PromtailScrapeConfig[] = [podLogsJob()];
    if (props.nodeLogs.journal) scrapeConfigs.push(journalJob());
    if (props.nodeLogs.files) scrapeConfigs.push(logFilesJob());
    this.config = new ConfigFiles(this, 'Config', {
      name: 'promtail-config',
      labels,
      files: {
        'promtail.yaml': promtailConfig({
          positionsFile: `${Promtail.POSITIONS_DIR}/positions.yaml`,
          push: props.push,
          clusterName: props.clusterName,
          scrapeConfigs,
        }),
      },
    });

    this.daemonSet = stackDaemonSet(this, 'DaemonSet', {
      identity,
      name: 'promtail',
      // Root, because the runtime writes pod logs (and journald its journal) owned by root and unreadable
      // by anyone else; the container drops every capability, so root reads only what root owns.
      user: 0,
      // Kubernetes discovery calls the API with the pod's token.
      serviceAccount,
      configChecksum: this.config.checksum,
      // Windows nodes have no such log paths.
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    });
    // Every node's logs, control-plane and tainted nodes included.
    this.daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));

    const container = this.daemonSet.addContainer({
      ...promtailContainer(),
      image: IMAGES.promtail,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      resources: containerResources(props.resources),
      // Root, because the runtime writes pod logs (and journald its journal) owned by root and unreadable
      // by anyone else. Nothing more of root: every capability is dropped, so it reads only what root owns,
      // and the root filesystem is read-only.
      securityContext: { ...restrictedContainerSecurity(0), ensureNonRoot: false },
      envVariables: {
        // Promtail reads only targets whose `__host__` is its HOSTNAME, and asks the API only for the pods
        // scheduled on that node: each pod tails exactly its own node's pods.
        HOSTNAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME),
      },
    });
    mountPromtailConfig(container, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }));
    for (const { name, path, type } of hostLogPaths(props.nodeLogs)) {
      container.mount(path, kplus.Volume.fromHostPath(this, `${name}-volume`, name, { path, type }), { readOnly: true });
    }
    // Positions survive restarts and upgrades on the node itself, so a new pod neither re-ships nor skips
    // lines. One directory per agents namespace, so two installations on a cluster never share it.
    container.mount(Promtail.POSITIONS_DIR, kplus.Volume.fromHostPath(this, 'PositionsVolume', 'positions', {
      path: `/var/lib/${props.namespace}/promtail`,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    }));

    props.metrics?.addScrapeJob(podScrapeJob({
      jobName: 'promtail',
      namespace: props.namespace,
      selector: selectorLabels(identity),
      portName: PROMTAIL_METRICS_PORT_NAME,
    }));
    props.metrics?.addRuleGroup(promtailRules({ group: 'promtail', job: 'promtail', alertPrefix: 'Promtail', what: 'The Promtail agent' }));
    props.grafana?.addDashboard(promtailDashboard({ uid: 'sightline-promtail', title: 'Promtail', job: 'promtail', what: 'the Promtail node agents' }));
  }
}

/** The host paths Promtail reads, mounted read-only at the same path. */
function hostLogPaths(nodeLogs: NodeLogSources): Array<{ name: string; path: string; type: kplus.HostPathVolumeType }> {
  const paths = nodeLogs.files
    // /var/log holds the pod logs and the persistent journal too.
    ? [{ name: 'var-log', path: '/var/log', type: kplus.HostPathVolumeType.DIRECTORY }]
    : [{ name: 'pod-logs', path: Promtail.POD_LOGS_DIR, type: kplus.HostPathVolumeType.DIRECTORY }];
  if (nodeLogs.journal) {
    // The journal is persistent (/var/log/journal) or volatile (/run/log/journal) depending on the host;
    // the reader needs the machine id to find the current one.
    if (!nodeLogs.files) paths.push({ name: 'journal', path: '/var/log/journal', type: kplus.HostPathVolumeType.DEFAULT });
    paths.push(
      { name: 'run-journal', path: '/run/log/journal', type: kplus.HostPathVolumeType.DEFAULT },
      { name: 'machine-id', path: '/etc/machine-id', type: kplus.HostPathVolumeType.FILE },
    );
  }
  return paths;
}

/**
 * The logs of the node's pods, found through the API (pod role), read from the runtime's files.
 *
 * Labels: `namespace`, `pod`, `container`, `node_name`, `app` and `service_name`, plus `stream` from the
 * CRI parser. `service_name` follows OpenTelemetry's rules for a pod's `service.name`, so Grafana's
 * trace-to-logs (which maps `service.name` to `service_name`) finds the logs of a span's service.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/non-normative/k8s-attributes/
 */
function podLogsJob(): PromtailScrapeConfig {
  const podLabel = (name: string) => `__meta_kubernetes_pod_label_${name}`;
  // A replace whose regex needs a non-empty value: listed from the weakest source to the strongest, each
  // overrides the previous only when its source is set.
  const ifSet = (source: string, target: string): RelabelConfig => ({ source_labels: [source], regex: '(.+)', target_label: target });
  const relabel: RelabelConfig[] = [
    { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: '__host__' },
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
      replacement: `${Promtail.POD_LOGS_DIR}/*$1/*.log`,
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
      replacement: `${Promtail.POD_LOGS_DIR}/*$1/*.log`,
    },
  ];
  return {
    job_name: 'kubernetes-pods',
    kubernetes_sd_configs: [{ role: 'pod' }],
    relabel_configs: relabel,
    // `filename` would start a new stream at every container restart (0.log, 1.log, ...).
    pipeline_stages: [{ cri: {} }, { labeldrop: ['filename'] }],
  };
}

/** The node's systemd journal: the kubelet, the container runtime, the kernel. */
function journalJob(): PromtailScrapeConfig {
  return {
    job_name: 'node-journal',
    journal: { labels: { job: 'node-journal' } },
    relabel_configs: [
      // The host name, which is the node name unless the kubelet runs with --hostname-override.
      { source_labels: ['__journal__hostname'], target_label: 'node_name' },
      { source_labels: ['__journal__systemd_unit'], target_label: 'unit' },
      { source_labels: ['__journal_syslog_identifier'], target_label: 'app' },
      { source_labels: ['__journal_priority_keyword'], target_label: 'level' },
    ],
  };
}

/**
 * The node's `/var/log/*.log` files. Discovered as the node object (node role) rather than a static
 * target, so that `__host__` keeps each pod on its own node and `node_name` is the node's name.
 */
function logFilesJob(): PromtailScrapeConfig {
  return {
    job_name: 'node-files',
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_name'], target_label: '__host__' },
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node_name' },
      { target_label: 'job', replacement: 'node-files' },
      { target_label: '__path__', replacement: '/var/log/*.log' },
    ],
  };
}

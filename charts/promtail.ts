import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { ConfigFiles } from './shared/config-file.ts';
import {
  JOURNAL_JOB,
  journalRules,
  NODE_FILES_GLOB,
  NODE_FILES_JOB,
  nodeAgentDaemonSet,
  podLogRules,
  PROMTAIL_POSITIONS,
  promtailPositionsHostPath,
  type NodeAgentProps,
} from './shared/node-logs.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import {
  mountPromtailConfig,
  promtailConfig,
  promtailContainer,
  promtailDashboard,
  promtailRules,
  PROMTAIL_HTTP_PORT,
  PROMTAIL_METRICS_PORT_NAME,
  type PromtailScrapeConfig,
} from './shared/promtail.ts';
import { discoveredResources, podScrapeJob } from './shared/scrape.ts';
import { allowDiscovery, clusterReader } from './shared/workload.ts';
import { podPort } from './shared/network.ts';
import { IMAGES } from './versions.ts';
import { dnsLabel, resources } from './shared/fields.ts';

/** Properties of {@link Promtail}: those of every node agent. */
export type PromtailProps = NodeAgentProps;

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
  /** The DaemonSet running Promtail on every Linux node. */
  public readonly daemonSet: kplus.DaemonSet;
  /** The ConfigMap holding `promtail.yaml`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: PromtailProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'promtail', component: 'log-collector', version: imageVersion(IMAGES.promtail) };
    const labels = recommendedLabels(identity);

    const scrapeConfigs: PromtailScrapeConfig[] = [podLogsJob()];
    if (props.nodeLogs.journal) scrapeConfigs.push(journalJob());
    if (props.nodeLogs.files) scrapeConfigs.push(logFilesJob());

    // Exactly what the discovery of its jobs reads: pods (pod logs), and nodes only for the node files job.
    // Not nodes/proxy, which upstream's manifests grant: it opens the kubelet's API (exec into any container)
    // to a root pod on every node, and Promtail never calls it.
    const { serviceAccount, clusterRole } = clusterReader(this, { name: 'promtail', namespace: props.namespace, labels });
    allowDiscovery(clusterRole, discoveredResources(scrapeConfigs.flatMap((c) => c.kubernetes_sd_configs ?? [])));

    this.config = new ConfigFiles(this, 'Config', {
      name: 'promtail-config',
      labels,
      files: {
        'promtail.yaml': promtailConfig({
          positionsFile: `${PROMTAIL_POSITIONS.dir}/${PROMTAIL_POSITIONS.file}`,
          push: props.push,
          clusterName: props.clusterName,
          scrapeConfigs,
        }),
      },
    });

    // Promtail reads only targets whose `__host__` is its HOSTNAME, the node's name (see nodeAgentDaemonSet).
    const { daemonSet, container } = nodeAgentDaemonSet(this, {
      identity,
      name: 'promtail',
      serviceAccount,
      configChecksum: this.config.checksum,
      container: { ...promtailContainer(), image: IMAGES.promtail },
      resources: props.resources,
      nodeLogs: props.nodeLogs,
      placement: props.placement,
      mountConfig: (c) => mountPromtailConfig(c, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' })),
    });
    this.daemonSet = daemonSet;
    // Positions survive restarts and upgrades on the node itself, so a new pod neither re-ships nor skips
    // lines. One directory per agents namespace, so two installations on a cluster never share it.
    container.mount(
      PROMTAIL_POSITIONS.dir,
      kplus.Volume.fromHostPath(this, 'PositionsVolume', 'positions', {
        path: promtailPositionsHostPath(props.namespace),
        type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
      }),
    );

    props.push.connect(this.daemonSet, container);
    props.metrics?.addScrapeJob(
      podScrapeJob({
        jobName: 'promtail',
        namespace: props.namespace,
        selector: selectorLabels(identity),
        portName: PROMTAIL_METRICS_PORT_NAME,
      }),
      podPort(this.daemonSet, { port: PROMTAIL_HTTP_PORT, protocol: 'TCP' }),
    );
    props.metrics?.addRuleGroup(promtailRules({ group: 'promtail', job: 'promtail', alertPrefix: 'Promtail', what: 'The Promtail agent' }));
    props.grafana?.addDashboard(
      promtailDashboard({ uid: 'sightline-promtail', title: 'Promtail', job: 'promtail', what: 'the Promtail node agents' }),
    );
  }
}

/**
 * The logs of the node's pods, found through the API (pod role), read from the runtime's files.
 *
 * Labels: `namespace`, `pod`, `container`, `node_name`, `app` and `service_name` (the rules in
 * shared/node-logs.ts), plus `stream` from the CRI parser.
 */
function podLogsJob(): PromtailScrapeConfig {
  return {
    job_name: 'kubernetes-pods',
    kubernetes_sd_configs: [{ role: 'pod' }],
    // Promtail reads only targets whose `__host__` is its HOSTNAME: each pod tails its own node's pods.
    relabel_configs: [{ source_labels: ['__meta_kubernetes_pod_node_name'], target_label: '__host__' }, ...podLogRules()],
    // `filename` would start a new stream at every container restart (0.log, 1.log, ...).
    pipeline_stages: [{ cri: {} }, { labeldrop: ['filename'] }],
  };
}

/** The node's systemd journal: the kubelet, the container runtime, the kernel. */
function journalJob(): PromtailScrapeConfig {
  return {
    job_name: JOURNAL_JOB,
    journal: { labels: { job: JOURNAL_JOB } },
    relabel_configs: journalRules(),
  };
}

/**
 * The node's `/var/log/*.log` files. Discovered as the node object (node role) rather than a static
 * target, so that `__host__` keeps each pod on its own node and `node_name` is the node's name.
 */
function logFilesJob(): PromtailScrapeConfig {
  return {
    job_name: NODE_FILES_JOB,
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_name'], target_label: '__host__' },
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node_name' },
      { target_label: 'job', replacement: NODE_FILES_JOB },
      { target_label: '__path__', replacement: NODE_FILES_GLOB },
    ],
  };
}

/** The `promtail` section of the values. */
export const promtailValues = z
  .strictObject({
    // The node agents' settings, whichever agent `logs.agent` chooses.
    namespace: dnsLabel()
      .default('sightline-agents')
      .describe('Namespace of the node agents, apart from the stack: they mount host paths, which only Pod Security `privileged` allows.'),
    nodeLogs: z
      .strictObject({
        journal: z.boolean().default(true).describe("Ship the node's systemd journal (kubelet, container runtime, kernel)."),
        files: z.boolean().default(false).describe("Ship the node's /var/log/*.log files (on systemd hosts mostly copies of the journal)."),
      })
      .prefault({})
      .describe("The node's own logs, besides its pods' logs."),
    resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
  })
  .prefault({});

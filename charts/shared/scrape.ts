import type { Endpoint } from './endpoint.ts';
import type { NetworkTarget } from './network.ts';

/**
 * The parts of Prometheus's configuration that components contribute through the Prometheus hub, typed with
 * upstream's key names so that a misspelt key does not compile.
 *
 * @see https://prometheus.io/docs/prometheus/3.14/configuration/configuration/
 */

/** `<relabel_config>`. */
export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly modulus?: number;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?:
    | 'replace'
    | 'keep'
    | 'drop'
    | 'keepequal'
    | 'dropequal'
    | 'hashmod'
    | 'labelmap'
    | 'labeldrop'
    | 'labelkeep'
    | 'lowercase'
    | 'uppercase';
}

/** `<static_config>`. */
export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** `<file_sd_config>`: target groups (the `<static_config>` format) read from files, re-read when they change. */
export interface FileSdConfig {
  readonly files: readonly string[];
}

/** `<kubernetes_sd_config>` (in-cluster: no api_server, the pod's service account). */
export interface KubernetesSdConfig {
  readonly role: 'node' | 'service' | 'pod' | 'endpoints' | 'endpointslice' | 'ingress';
  readonly namespaces?: { readonly names?: readonly string[]; readonly own_namespace?: boolean };
  readonly selectors?: ReadonlyArray<{ readonly role: KubernetesSdConfig['role']; readonly label?: string; readonly field?: string }>;
}

/** A Kubernetes resource type: its API group (`''` for the core group) and plural name. */
export interface KubernetesResource {
  readonly apiGroup: string;
  readonly resource: string;
}

/**
 * What each Kubernetes discovery role lists and watches: Prometheus's discovery/kubernetes (v3.14.0), which
 * Promtail's discovery is built on, without `attach_metadata` (which would add nodes, namespaces,
 * ReplicaSets or Jobs; Sightline sets none).
 */
const DISCOVERY_RESOURCES: Readonly<Record<KubernetesSdConfig['role'], readonly KubernetesResource[]>> = {
  node: [{ apiGroup: '', resource: 'nodes' }],
  pod: [{ apiGroup: '', resource: 'pods' }],
  service: [{ apiGroup: '', resource: 'services' }],
  endpoints: [
    { apiGroup: '', resource: 'endpoints' },
    { apiGroup: '', resource: 'services' },
    { apiGroup: '', resource: 'pods' },
  ],
  endpointslice: [
    { apiGroup: 'discovery.k8s.io', resource: 'endpointslices' },
    { apiGroup: '', resource: 'services' },
    { apiGroup: '', resource: 'pods' },
  ],
  ingress: [{ apiGroup: 'networking.k8s.io', resource: 'ingresses' }],
};

/** The resources `configs` discover, each once, in the order first needed. */
export function discoveredResources(configs: readonly KubernetesSdConfig[]): KubernetesResource[] {
  const seen = new Map<string, KubernetesResource>();
  for (const resource of configs.flatMap((c) => DISCOVERY_RESOURCES[c.role])) seen.set(`${resource.apiGroup}/${resource.resource}`, resource);
  return [...seen.values()];
}

/** `<scrape_config>`: one scrape job. */
export interface ScrapeConfig {
  readonly job_name: string;
  readonly scrape_interval?: string;
  readonly scrape_timeout?: string;
  readonly metrics_path?: string;
  readonly scheme?: 'http' | 'https';
  /** Credentials sent with every scrape, read from a file (the pod's service-account token). */
  readonly authorization?: { readonly credentials_file: string };
  readonly tls_config?: { readonly ca_file?: string; readonly insecure_skip_verify?: boolean };
  readonly params?: Readonly<Record<string, readonly string[]>>;
  readonly honor_labels?: boolean;
  readonly static_configs?: readonly StaticConfig[];
  readonly file_sd_configs?: readonly FileSdConfig[];
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly relabel_configs?: readonly RelabelConfig[];
  readonly metric_relabel_configs?: readonly RelabelConfig[];
}

/**
 * An alerting rule of a rule file. Prometheus renders `labels` and `annotations` as Go templates over the
 * alert's series (`{{ $labels.instance }}`, `{{ $value }}`).
 *
 * @see https://prometheus.io/docs/prometheus/3.14/configuration/alerting_rules/
 */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An alerting rule worded for the on-call engineer: a `severity` label for routing, a summary that names
 * what is wrong, and a description of the impact and the first steps.
 */
export function alertingRule(props: {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold. @default - fires on the first evaluation */
  readonly for?: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly description: string;
}): AlertingRule {
  return {
    alert: props.alert,
    expr: props.expr,
    for: props.for,
    labels: { severity: props.severity },
    annotations: { summary: props.summary, description: props.description },
  };
}

/** A recording rule of a rule file. @see https://prometheus.io/docs/prometheus/3.14/configuration/recording_rules/ */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** One rule of a rule group. */
export type Rule = AlertingRule | RecordingRule;

/** `<rule_group>`: rules evaluated together, in order, at the group's interval. */
export interface RuleGroup {
  /** Unique across every rule file Prometheus loads. */
  readonly name: string;
  /** Evaluation interval. @default - the global `evaluation_interval` */
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

/** A rule file: what `rule_files` points Prometheus at. */
export interface RuleFile {
  readonly groups: readonly RuleGroup[];
}

/** What a component needs from the metrics hub: somewhere to contribute its scrape jobs and rules. */
export interface MetricsHub {
  /**
   * Adds a scrape job, and allows the hub's pods into `targets` (the endpoints or pod ports the job scrapes),
   * so their network policies admit the scrapes.
   *
   * @throws if a job with the same `job_name` exists, or the hub has already rendered
   */
  addScrapeJob(job: ScrapeConfig, ...targets: readonly NetworkTarget[]): void;
  /** Adds a rule group (alerts or recording rules). @throws if a group with the same `name` exists, or the hub has already rendered */
  addRuleGroup(group: RuleGroup): void;
  /**
   * Publishes target groups for file-based discovery, for inventories too large to inline in prometheus.yml,
   * and returns the `file_sd_configs` entry of the scrape job that reads them.
   *
   * @throws if targets of the same `name` exist, or the hub has already rendered
   */
  addTargetGroups(name: string, groups: readonly StaticConfig[]): FileSdConfig;
}

/**
 * A scrape job over the pods of one workload, found by Kubernetes service discovery rather than through a
 * Service: for workloads that have no Service, or whose Service must not expose metrics (a DaemonSet, a
 * receiver on a LoadBalancer). Targets every pod matching `selector` in `namespace`, on its container port
 * named `portName`, and labels each series with its namespace, pod and node.
 */
export function podScrapeJob(props: {
  readonly jobName: string;
  readonly namespace: string;
  /** Labels the pods carry (the workload's selector labels). */
  readonly selector: Readonly<Record<string, string>>;
  /** Name of the container port serving `/metrics`. */
  readonly portName: string;
}): ScrapeConfig {
  return {
    job_name: props.jobName,
    kubernetes_sd_configs: [
      {
        role: 'pod',
        namespaces: { names: [props.namespace] },
        selectors: [
          {
            role: 'pod',
            label: Object.entries(props.selector)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          },
        ],
      },
    ],
    relabel_configs: [
      // Discovery yields one target per container port: keep the metrics port only.
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: props.portName },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
    ],
  };
}
/**
 * Scrapes a one-pod component through its Service (`endpoint`, which serves `/metrics` too), and allows the
 * hub's pods into it. Components with several replicas are scraped pod by pod instead ({@link podScrapeJob}):
 * through a Service, replicas would answer in turn and their counters jump back and forth.
 */
export function scrapeEndpoint(hub: MetricsHub, jobName: string, endpoint: Endpoint): void {
  hub.addScrapeJob({ job_name: jobName, static_configs: [{ targets: [endpoint.hostPort] }] }, endpoint);
}

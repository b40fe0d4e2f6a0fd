import { Chart, Duration } from 'cdk8s';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as z from 'zod';
import { componentDashboard, memoryPanel, upPanel, volumePanel } from './component-dashboard.ts';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ConfigFiles } from './shared/config-file.ts';
import { DATASOURCE_UID, type GrafanaDataSource } from './shared/datasources.ts';
import { Endpoint } from './shared/endpoint.ts';
import { HubSeal } from './shared/hub.ts';
import { storeCapacityRules } from './shared/capacity.ts';
import { allowEgress, type NetworkTarget } from './shared/network.ts';
import {
  BACKEND_CREDENTIALS_DIR,
  externalBackendValues,
  mountBackendCredentials,
  prometheusClientAuth,
  type BackendCredentialFiles,
  type ExternalBackend,
} from './shared/backend.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import {
  alertingRule,
  discoveredResources,
  podScrapeJob,
  scrapeEndpoint,
  type AlertingRule,
  type FileSdConfig,
  type KubernetesSdConfig,
  type MetricsHub,
  type RelabelConfig,
  type RuleFile,
  type RuleGroup,
  type ScrapeConfig,
  type StaticConfig,
} from './shared/scrape.ts';
import {
  addConfigChecksum,
  allowDiscovery,
  clusterReader,
  dataClaim,
  hardenedContainer,
  keepReplicasApart,
  perPodClaims,
  stackService,
  startupProbe,
  storeStatefulSet,
  type ContainerResourceValues,
} from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { byteSize, duration, quantity, resources, startupTimeout } from './shared/fields.ts';

/** `prometheus.yml`, as far as Sightline writes it. Keys as upstream names them. */
export interface PrometheusConfig {
  readonly global: {
    readonly scrape_interval: string;
    readonly scrape_timeout: string;
    readonly evaluation_interval: string;
    readonly external_labels?: Readonly<Record<string, string>>;
  };
  readonly rule_files: readonly string[];
  readonly alerting?: { readonly alert_relabel_configs?: readonly RelabelConfig[]; readonly alertmanagers: readonly AlertmanagerConfig[] };
  readonly scrape_configs: readonly ScrapeConfig[];
  readonly remote_write?: readonly RemoteWriteConfig[];
  readonly storage: {
    readonly tsdb: { readonly retention: { readonly time: string; readonly size: string } };
    readonly exemplars?: { readonly max_exemplars: number };
  };
  /** How the OTLP receiver turns OTLP into series. */
  readonly otlp: { readonly promote_resource_attributes: readonly string[]; readonly keep_identifying_resource_attributes: boolean };
}

/**
 * `<remote_write>`: a store every sample is sent to, with the HTTP client settings of prometheus/common
 * (`basic_auth`, `authorization`, `headers`) that {@link prometheusClientAuth} spells.
 */
export interface RemoteWriteConfig {
  readonly url: string;
  readonly send_exemplars?: boolean;
  readonly [httpClientSetting: string]: unknown;
}

/** `<alertmanager_config>`: where Prometheus sends alerts, found by service discovery. */
export interface AlertmanagerConfig {
  readonly api_version: 'v2';
  readonly scheme: 'http' | 'https';
  readonly path_prefix?: string;
  readonly kubernetes_sd_configs: readonly KubernetesSdConfig[];
  readonly relabel_configs: readonly RelabelConfig[];
}

/** Properties of {@link Prometheus}. */
export interface PrometheusProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** Value of the `cluster` external label, attached to everything that leaves this Prometheus. */
  readonly clusterName: string;
  /** How long samples are kept (`storage.tsdb.retention.time`). @default - none: values always set it */
  readonly retention: string;
  /** Disk budget of the TSDB (`storage.tsdb.retention.size`), e.g. `8GB`. */
  readonly retentionSize: string;
  /** Size of the PersistentVolumeClaim at `/prometheus`, e.g. `10Gi`. */
  readonly storage: string;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Default scrape interval. */
  readonly scrapeInterval: string;
  /** Default scrape timeout. */
  readonly scrapeTimeout: string;
  /** Rule evaluation interval. */
  readonly evaluationInterval: string;
  /** How long Prometheus may take to start (replaying its WAL) before its liveness probe counts, e.g. `10m`. */
  readonly startupTimeout: string;
  /**
   * Pods: 1; 2 for an HA pair, two identical copies that scrape, evaluate rules and alert independently, each
   * on a volume of its own; or 0 to stop a single Prometheus and keep its data.
   */
  readonly replicas: number;
  /**
   * A metrics store outside the stack (Mimir, or any Prometheus-compatible remote-write and query API) that
   * Prometheus remote-writes every sample to, and Grafana queries instead of Prometheus. Prometheus still
   * scrapes, evaluates the rules, sends the alerts and receives OTLP and Tempo's span metrics.
   *
   * @default - Prometheus's own TSDB is the store Grafana queries
   */
  readonly external?: ExternalBackend;
  /** Requests and limits of the Prometheus container. */
  readonly resources: ContainerResourceValues;
  /**
   * Uid of the Grafana trace datasource that exemplars link to. The datasource then turns the trace-id label
   * of an exemplar (`traceID` from Tempo's metrics-generator, `trace_id` from OpenTelemetry SDKs) into a
   * link to that trace.
   *
   * @default - exemplars carry no link
   * @see https://grafana.com/docs/grafana/latest/datasources/prometheus/configure/#exemplars
   */
  readonly exemplarTraceDataSourceUid?: string;
  /**
   * Alertmanager's HTTP API. Prometheus sends every alert to each ready pod behind that Service, never through
   * the Service's virtual IP: the Alertmanagers of a cluster deduplicate among themselves, and one that missed
   * an alert could not.
   *
   * @default - alerts are evaluated, and sent nowhere
   * @see https://prometheus.io/docs/alerting/latest/alertmanager/#high-availability
   */
  readonly alertmanagers?: Endpoint;
}

/**
 * OTLP resource attributes that become labels of every series the OTLP receiver ingests, so that OTLP metrics
 * are selected like scraped ones (`{service_name="hello-app", k8s_namespace_name="sightline"}`). Without this
 * Prometheus keeps resource attributes only on `target_info`, and files `service.name` under `job` joined with
 * `service.namespace`. These are the service's identity and the pod and workload that the collector's
 * k8s_attributes processor adds; the pod's uid and start time stay on `target_info` (one series per restart).
 *
 * @see https://prometheus.io/docs/guides/opentelemetry/#promoting-resource-attributes
 */
export const OTLP_PROMOTED_RESOURCE_ATTRIBUTES: readonly string[] = [
  'service.name',
  'service.namespace',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
];

/** Exemplar labels that hold a trace id: Tempo's metrics-generator writes `traceID`, OpenTelemetry SDKs `trace_id`. */
const EXEMPLAR_TRACE_ID_LABELS = ['traceID', 'trace_id'] as const;

/**
 * Prometheus: scrapes the stack, receives remote write (Tempo's metrics-generator) and OTLP (the collector),
 * stores exemplars, and is the hub other components contribute scrape jobs to.
 */
export class Prometheus extends Chart implements MetricsHub {
  /** Port of the HTTP API, UI, remote-write and OTLP receivers. */
  public static readonly PORT = 9090;
  /** External label that tells the two copies of an HA pair apart. */
  public static readonly REPLICA_LABEL = 'replica';
  /**
   * The replica label when the pair writes to an external store: the label Mimir's HA tracker (and Cortex's)
   * reads by default (`-distributor.ha-tracker.replica`), next to `cluster` (`-distributor.ha-tracker.cluster`).
   * Mimir accepts the samples of one replica of each cluster and drops this label as it ingests them.
   *
   * @see https://grafana.com/docs/mimir/latest/configure/configure-high-availability-deduplication/
   */
  public static readonly HA_TRACKER_REPLICA_LABEL = '__replica__';
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Prometheus expands it in external labels, from the downward API
  private static readonly POD_NAME_REFERENCE = '${POD_NAME}';
  /** The image's user (`nobody`). */
  private static readonly USER = 65534;
  private static readonly CONFIG_DIR = '/etc/prometheus';
  // A sibling of the config folder, not inside it: a mount point nested in a ConfigMap volume is fragile.
  private static readonly RULES_DIR = '/etc/prometheus-rules';
  private static readonly RULES_FILE = 'rules.yaml';
  private static readonly TARGETS_DIR = '/etc/prometheus-targets';
  /**
   * Targets per file-discovery ConfigMap: a few hundred servers with their labels stay near 60 kB, a quarter of
   * the 262,144 bytes `kubectl apply` can record, however large the inventory.
   */
  public static readonly TARGETS_PER_FILE = 250;
  private static readonly DATA_DIR = '/prometheus';

  /**
   * Query API and UI (Grafana's datasource URL): the Service, or of a pair the first pod only (see
   * {@link podEndpoints}).
   */
  public readonly endpoint: Endpoint;
  /**
   * Remote-write receivers (`--web.enable-remote-write-receiver`), one per pod of a pair: a sample pushed to
   * one copy only would be missing from the other, so a writer sends everything to each.
   */
  public readonly remoteWriteEndpoints: readonly Endpoint[];
  /** OTLP/HTTP receiver bases (`--web.enable-otlp-receiver`), one per pod of a pair; exporters append `/v1/metrics`. */
  public readonly otlpEndpoints: readonly Endpoint[];
  /** The StatefulSet running Prometheus. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The ConfigMap holding `prometheus.yml`. */
  public readonly config: ConfigFiles;
  /** The ConfigMap holding the rule file, every contributed rule group in it. */
  public readonly rules: ConfigFiles;

  private readonly seal = new HubSeal('Prometheus');
  private readonly jobs = new Map<string, ScrapeConfig>();
  private readonly ruleGroups = new Map<string, RuleGroup>();
  private readonly targetNames = new Set<string>();
  private targetVolumes = 0;
  private readonly container: kplus.Container;
  private readonly clusterRole: kplus.ClusterRole;
  private readonly componentLabels: Record<string, string>;
  private readonly props: PrometheusProps;
  private readonly pair: boolean;
  private backendFiles: BackendCredentialFiles = {};

  public constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    this.props = props;
    this.pair = props.replicas > 1;
    const identity: ComponentIdentity = { name: 'prometheus', component: 'metrics', version: imageVersion(IMAGES.prometheus) };
    const labels = recommendedLabels(identity);
    this.componentLabels = labels;

    // Kubernetes service discovery lists and watches targets cluster-wide: the role grants exactly what the
    // discovery roles of the contributed scrape jobs read (see addScrapeJob), nothing else.
    const { serviceAccount, clusterRole } = clusterReader(this, { name: 'prometheus', namespace: props.namespace, labels });
    this.clusterRole = clusterRole;

    this.config = new ConfigFiles(this, 'Config', {
      name: 'prometheus-config',
      labels,
      files: { 'prometheus.yml': () => this.renderConfig() },
    });
    this.rules = new ConfigFiles(this, 'Rules', {
      name: 'prometheus-rules',
      labels,
      files: {
        [Prometheus.RULES_FILE]: (): RuleFile => {
          this.seal.seal(Prometheus.RULES_FILE);
          return { groups: [...this.ruleGroups.values()] };
        },
      },
    });

    // One pod keeps its TSDB on a claim of its own name; each copy of a pair on a claim from a template (below).
    const claim = this.pair
      ? undefined
      : dataClaim(this, { name: 'prometheus-data', labels, storage: props.storage, storageClassName: props.storageClassName });

    const service = stackService(this, 'Service', { name: 'prometheus', identity, ports: [{ name: 'http', port: Prometheus.PORT }] });
    // A pair's governing Service is headless: it gives each pod a DNS name of its own, which Grafana and the
    // writers address (see podEndpoints). The one Service above still reaches either pod, for people.
    const replicasService = this.pair
      ? stackService(this, 'ReplicasService', {
          name: 'prometheus-replicas',
          identity,
          ports: [{ name: 'http', port: Prometheus.PORT }],
          headless: true,
        })
      : undefined;
    this.statefulSet = storeStatefulSet(this, 'StatefulSet', {
      identity,
      name: 'prometheus',
      replicas: props.replicas,
      user: Prometheus.USER,
      service: replicasService ?? service,
      // The copies of a pair are independent: one that cannot start must not hold the other back.
      parallel: this.pair,
      serviceAccount,
      configChecksum: this.config.checksum,
      // Prometheus finishes writing the head block on SIGTERM; cutting it short means a WAL replay on start.
      terminationGracePeriodSeconds: 300,
    });
    // A drain takes one copy of a pair at a time, and the copies are spread over nodes and zones.
    if (this.pair) keepReplicasApart(this.statefulSet, identity);
    // Prometheus reads rule files only at start (or on a reload nobody sends): a changed rule must roll the pod.
    addConfigChecksum(this.statefulSet, 'rules', this.rules.checksum);
    const container = this.statefulSet.addContainer({
      name: 'prometheus',
      ...hardenedContainer({ image: IMAGES.prometheus, user: Prometheus.USER, resources: props.resources }),
      args: [
        `--config.file=${Prometheus.CONFIG_DIR}/prometheus.yml`,
        `--storage.tsdb.path=${Prometheus.DATA_DIR}`,
        '--web.enable-remote-write-receiver',
        '--web.enable-otlp-receiver',
        '--enable-feature=exemplar-storage',
      ],
      ports: [{ name: 'http', number: Prometheus.PORT }],
      // The pod's own name, which the replica external label of a pair expands from.
      envVariables: this.pair ? { POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME) } : undefined,
      liveness: kplus.Probe.fromHttpGet('/-/healthy', {
        port: Prometheus.PORT,
        periodSeconds: Duration.seconds(15),
        timeoutSeconds: Duration.seconds(10),
        failureThreshold: 3,
      }),
      readiness: kplus.Probe.fromHttpGet('/-/ready', {
        port: Prometheus.PORT,
        periodSeconds: Duration.seconds(5),
        timeoutSeconds: Duration.seconds(4),
        failureThreshold: 3,
      }),
      // Replaying a large WAL after a restart takes minutes; the startup probe holds liveness off meanwhile.
      startup: startupProbe('/-/ready', Prometheus.PORT, props.startupTimeout),
    });
    this.container = container;
    container.mount(Prometheus.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), {
      readOnly: true,
    });
    container.mount(Prometheus.RULES_DIR, kplus.Volume.fromConfigMap(this, 'RulesVolume', this.rules.configMap, { name: 'rules' }), {
      readOnly: true,
    });
    if (claim) {
      container.mount(Prometheus.DATA_DIR, kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' }));
    } else {
      // Each copy keeps its own TSDB: a claim per pod (data-prometheus-0, data-prometheus-1).
      perPodClaims(this.statefulSet, {
        name: 'data',
        labels,
        storage: props.storage,
        storageClassName: props.storageClassName,
        mountPath: Prometheus.DATA_DIR,
      });
    }
    if (props.external) {
      this.backendFiles = mountBackendCredentials(this.statefulSet, container, props.external, BACKEND_CREDENTIALS_DIR);
    }

    // Queries, remote write and OTLP share this one port, and a network policy selects ports, not paths: every
    // consumer of any of these endpoints (Grafana's queries, Tempo's remote write, the collector's OTLP) is
    // admitted to all of them. Only an authenticating proxy could admit writes from the writers alone.
    const serviceEndpoint = Endpoint.fromService(service, Prometheus.PORT, { scheme: 'http' });
    const pods = replicasService ? this.podEndpoints(Endpoint.fromService(replicasService, Prometheus.PORT, { scheme: 'http' })) : [serviceEndpoint];
    // Grafana queries one copy, always the same: the copies scrape at different moments and each may have gaps
    // of its own, so alternating between them would make graphs jump. The price: while prometheus-0 is down
    // Grafana has no metrics, and its graphs keep a gap for that time although prometheus-1 has the data. An
    // external store (prometheus.external) takes either copy's samples instead, and has no such gap.
    this.endpoint = pods[0]!;
    this.remoteWriteEndpoints = pods.map((pod) => pod.withPath('/api/v1/write'));
    this.otlpEndpoints = pods.map((pod) => pod.withPath('/api/v1/otlp'));

    if (this.pair) {
      // Each copy scrapes both, pod by pod: through the Service they would answer in turn.
      this.addScrapeJob(
        podScrapeJob({ jobName: 'prometheus', namespace: props.namespace, selector: selectorLabels(identity), portName: 'http' }),
        serviceEndpoint,
      );
    } else {
      scrapeEndpoint(this, 'prometheus', this.endpoint);
    }
    this.addScrapeJob(annotatedPodsJob());
    // The annotated pods may be anywhere, on any port: with egress restricted, Prometheus may still reach
    // every pod (each pod's own ingress policy decides).
    allowEgress(this.statefulSet, { namespaces: {} });
    // Alerts go to every Alertmanager pod its endpoint's Service selects, found by the same kind of discovery
    // as the scrape jobs', so the role grants what that discovery reads too.
    if (props.alertmanagers) {
      props.alertmanagers.allowFrom(this.statefulSet);
      allowDiscovery(this.clusterRole, discoveredResources(alertmanagerDiscovery(props.alertmanagers).kubernetes_sd_configs ?? []));
    }
    this.addScrapeJob(kubeletVolumesJob(props.namespace));
    // The kubelet serves /metrics to a token allowed `get nodes/metrics`; nodes/proxy (also the kubelet's exec
    // and attach API) is never granted.
    this.clusterRole.allowGet(kplus.ApiResource.custom({ apiGroup: '', resourceType: 'nodes/metrics' }));
    this.addRuleGroup(prometheusRules(props.alertmanagers !== undefined, props.external !== undefined));
    this.addRuleGroup(volumeRules(props.namespace));
    this.addRuleGroup(storeCapacityRules({ job: 'prometheus', name: 'Prometheus', limits: props.resources.limits }));
  }

  public addScrapeJob(job: ScrapeConfig, ...targets: readonly NetworkTarget[]): void {
    this.seal.assertOpen(`scrape job "${job.job_name}"`);
    if (this.jobs.has(job.job_name)) {
      throw new Error(`Prometheus already has a scrape job named "${job.job_name}"`);
    }
    this.jobs.set(job.job_name, job);
    for (const target of targets) target.allowFrom(this.statefulSet);
    allowDiscovery(this.clusterRole, discoveredResources(job.kubernetes_sd_configs ?? []));
  }

  public addRuleGroup(group: RuleGroup): void {
    this.seal.assertOpen(`rule group "${group.name}"`);
    if (this.ruleGroups.has(group.name)) {
      throw new Error(`Prometheus already has a rule group named "${group.name}"`);
    }
    this.ruleGroups.set(group.name, group);
  }

  /**
   * Puts target groups in ConfigMaps of at most {@link TARGETS_PER_FILE} targets, each mounted read-only in a
   * folder of its own. Prometheus watches the files (and re-reads them every 5 minutes), so a change reaches it once the kubelet has updated the volume: unlike a change to
   * prometheus.yml, a change of inventory does not roll the pod (and replay its WAL), so no checksum goes on
   * the pod template.
   */
  public addTargetGroups(name: string, groups: readonly StaticConfig[]): FileSdConfig {
    this.seal.assertOpen(`target groups "${name}"`);
    if (this.targetNames.has(name)) {
      throw new Error(`Prometheus already has target groups named "${name}"`);
    }
    this.targetNames.add(name);
    const files: string[] = [];
    for (let first = 0; first < groups.length; first += Prometheus.TARGETS_PER_FILE) {
      const id = `${name}-${files.length}`;
      const file = `${id}.yaml`;
      const config = new ConfigFiles(this, `Targets-${id}`, {
        name: `prometheus-targets-${id}`,
        labels: this.componentLabels,
        files: { [file]: groups.slice(first, first + Prometheus.TARGETS_PER_FILE) },
      });
      // Volume names are DNS labels of at most 63 characters: numbered, as target names can be long.
      const volume = kplus.Volume.fromConfigMap(this, `Targets-${id}-Volume`, config.configMap, { name: `targets-${this.targetVolumes++}` });
      this.container.mount(`${Prometheus.TARGETS_DIR}/${id}`, volume, { readOnly: true });
      files.push(`${Prometheus.TARGETS_DIR}/${id}/${file}`);
    }
    return { files };
  }

  /**
   * Grafana's datasource for the stack's metrics: the default one, queried by POST (long PromQL fits). With an
   * external store it queries that store under the same uid, so every dashboard and link still resolves.
   */
  public get dataSource(): GrafanaDataSource {
    return {
      name: 'Prometheus',
      uid: DATASOURCE_UID.prometheus,
      type: 'prometheus',
      url: this.props.external?.queryUrl ?? this.endpoint.url(),
      isDefault: true,
      jsonData: {
        httpMethod: 'POST',
        timeInterval: this.props.scrapeInterval,
        exemplarTraceIdDestinations: this.exemplarTraceIdDestinations(),
      },
    };
  }

  /** The Prometheus dashboard (for Grafana, which is created after Prometheus). */
  public get dashboard(): Dashboard {
    return componentDashboard({
      uid: 'sightline-prometheus',
      title: 'Prometheus',
      description: "Health, ingestion, failures and saturation of the stack's Prometheus.",
      health: [
        upPanel('prometheus', 'Prometheus'),
        {
          title: 'Targets down',
          description: 'Scrape targets of every job whose last scrape failed.',
          unit: 'short',
          queries: [{ expr: 'count by (job) (up == 0)', legend: '{{job}}' }],
        },
      ],
      throughput: [
        {
          title: 'Samples appended',
          description: 'Samples written to the TSDB per second (scrapes, remote write, OTLP).',
          unit: 'short',
          queries: [{ expr: 'rate(prometheus_tsdb_head_samples_appended_total{job="prometheus"}[5m])', legend: '{{type}}' }],
        },
        {
          title: 'Alerts sent',
          description: 'Alerts sent to each Alertmanager per second.',
          unit: 'short',
          queries: [{ expr: 'rate(prometheus_notifications_sent_total{job="prometheus"}[5m])', legend: '{{alertmanager}}' }],
        },
      ],
      errors: [
        {
          title: 'Rule evaluation failures',
          description: 'Failed rule evaluations per second, by rule group.',
          unit: 'short',
          queries: [
            { expr: 'sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[5m]))', legend: '{{rule_group}}' },
          ],
        },
        {
          title: 'Alert notification errors',
          description: 'Alerts that failed to reach an Alertmanager, per second.',
          unit: 'short',
          queries: [{ expr: 'rate(prometheus_notifications_errors_total{job="prometheus"}[5m])', legend: '{{alertmanager}}' }],
        },
      ],
      saturation: [
        {
          title: 'Head series',
          description: 'Series in the in-memory head block: memory grows with it.',
          unit: 'short',
          queries: [{ expr: 'prometheus_tsdb_head_series{job="prometheus"}', legend: '{{instance}}' }],
        },
        this.pair ? volumePanel('data-prometheus-[0-9]+', { perPod: true }) : volumePanel('prometheus-data'),
        memoryPanel('prometheus', 'Prometheus'),
      ],
    });
  }

  private exemplarTraceIdDestinations(): ReadonlyArray<{ readonly name: string; readonly datasourceUid: string }> | undefined {
    const uid = this.props.exemplarTraceDataSourceUid;
    return uid === undefined ? undefined : EXEMPLAR_TRACE_ID_LABELS.map((name) => ({ name, datasourceUid: uid }));
  }

  /**
   * The endpoints of each pod of a pair, by its name under the headless Service. A pod's name would also do
   * as a label selector (`statefulset.kubernetes.io/pod-name`) of a Service per pod; but that label is set by
   * the StatefulSet controller, not by the pod template, so no policy or check could see what it selects.
   */
  private podEndpoints(headless: Endpoint): Endpoint[] {
    return Array.from({ length: this.props.replicas }, (_, i) => headless.forPod(`${this.statefulSet.name}-${i}`));
  }

  /** The external label that tells the copies of a pair apart: the one an external store's HA tracker reads. */
  private get replicaLabel(): string {
    return this.props.external ? Prometheus.HA_TRACKER_REPLICA_LABEL : Prometheus.REPLICA_LABEL;
  }

  private renderConfig(): PrometheusConfig {
    this.seal.seal('prometheus.yml');
    const p = this.props;
    const replica = this.pair ? this.replicaLabel : undefined;
    return {
      global: {
        scrape_interval: p.scrapeInterval,
        scrape_timeout: p.scrapeTimeout,
        evaluation_interval: p.evaluationInterval,
        // Prometheus expands ${VAR} in external label values from its environment (always, since 3.0): each
        // copy of a pair labels what leaves it with its own pod name, from one config file.
        external_labels: { cluster: p.clusterName, ...(replica !== undefined && { [replica]: Prometheus.POD_NAME_REFERENCE }) },
      },
      rule_files: [`${Prometheus.RULES_DIR}/${Prometheus.RULES_FILE}`],
      alerting: p.alertmanagers && {
        // Both copies of a pair send every alert; Alertmanager merges them only if their labels are the same.
        // Alert relabelling runs after the external labels are added.
        alert_relabel_configs: replica === undefined ? undefined : [{ action: 'labeldrop', regex: replica }],
        alertmanagers: [alertmanagerDiscovery(p.alertmanagers)],
      },
      scrape_configs: [...this.jobs.values()],
      // Everything, exemplars included so that trace links keep working on graphs the external store draws.
      remote_write: p.external && [{ url: p.external.writeUrl, send_exemplars: true, ...prometheusClientAuth(p.external, this.backendFiles) }],
      storage: { tsdb: { retention: { time: p.retention, size: p.retentionSize } } },
      // keep_identifying_resource_attributes: target_info too carries service_name (it otherwise has only `job`),
      // so that one selector finds a service's series and its resource attributes alike.
      otlp: { promote_resource_attributes: OTLP_PROMOTED_RESOURCE_ATTRIBUTES, keep_identifying_resource_attributes: true },
    };
  }
}

/**
 * Every ready pod behind the Alertmanager Service, by the endpoint slices of that Service. Kubernetes discovery
 * rather than DNS: Prometheus already watches endpoint slices with the read access it has, it sees a pod leave
 * as soon as it stops being ready (DNS answers are cached, and the gossip Service lists pods before they are
 * ready), and the same discovery is how kube-prometheus wires its Prometheus to its Alertmanagers.
 */
export function alertmanagerDiscovery(alertmanager: Endpoint): AlertmanagerConfig {
  return {
    api_version: 'v2',
    scheme: alertmanager.scheme === 'https' ? 'https' : 'http',
    path_prefix: alertmanager.path === '' ? undefined : alertmanager.path,
    kubernetes_sd_configs: [
      {
        role: 'endpointslice',
        namespaces: { names: [alertmanager.namespace] },
        selectors: [{ role: 'endpointslice', label: `kubernetes.io/service-name=${alertmanager.serviceName}` }],
      },
    ],
    relabel_configs: [
      // Slices list container ports; Sightline's Services forward each port to the same number in the pod.
      { source_labels: ['__meta_kubernetes_endpointslice_port'], action: 'keep', regex: String(alertmanager.port) },
      { source_labels: ['__meta_kubernetes_endpointslice_endpoint_conditions_ready'], action: 'keep', regex: 'true' },
    ],
  };
}

/**
 * Opt-in scraping of any pod annotated `prometheus.io/scrape: "true"`, with `prometheus.io/port`,
 * `prometheus.io/path` and `prometheus.io/scheme` overriding the defaults: the convention most charts and
 * exporters already follow, so a workload outside Sightline is one annotation away from being scraped.
 */
function annotatedPodsJob(): ScrapeConfig {
  const annotation = (name: string) => `__meta_kubernetes_pod_annotation_prometheus_io_${name}`;
  const relabel: RelabelConfig[] = [
    { source_labels: [annotation('scrape')], action: 'keep', regex: 'true' },
    { source_labels: [annotation('scheme')], action: 'replace', regex: '(https?)', target_label: '__scheme__' },
    { source_labels: [annotation('path')], action: 'replace', regex: '(.+)', target_label: '__metrics_path__' },
    {
      source_labels: ['__address__', annotation('port')],
      action: 'replace',
      regex: '([^:]+)(?::\\d+)?;(\\d+)',
      replacement: '$1:$2',
      target_label: '__address__',
    },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
    { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'app' },
  ];
  return {
    job_name: 'kubernetes-pods',
    kubernetes_sd_configs: [{ role: 'pod' }],
    relabel_configs: relabel,
  };
}

/** The service-account files every pod with a mounted token has. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The volume statistics of the kubelet on every node, for the alerts on the stack's volumes filling up.
 * Scraped straight from each kubelet's /metrics with Prometheus's service-account token, which the kubelet
 * authorizes as `get nodes/metrics` (the ClusterRole grants it): going through the API server's node proxy
 * would need `nodes/proxy`, which also opens the kubelet's exec and attach API. Kubelet serving certificates
 * are self-signed on most clusters (kubeadm without serverTLSBootstrap), so the certificate is not verified,
 * as in kube-prometheus; the token goes only to node addresses the API server lists. Only the two series of
 * the stack's own claims are kept: a kubelet exposes thousands of others.
 *
 * @see https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/#kubelet-authorization
 */
function kubeletVolumesJob(namespace: string): ScrapeConfig {
  return {
    job_name: 'kubelet',
    scheme: 'https',
    authorization: { credentials_file: `${SERVICE_ACCOUNT_DIR}/token` },
    tls_config: { ca_file: `${SERVICE_ACCOUNT_DIR}/ca.crt`, insecure_skip_verify: true },
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [{ source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' }],
    metric_relabel_configs: [
      { source_labels: ['__name__'], action: 'keep', regex: 'kubelet_volume_stats_(available|capacity)_bytes' },
      { source_labels: ['namespace'], action: 'keep', regex: namespace },
    ],
  };
}

/** An alert of Prometheus's own groups, by position: they are many and alike. */
function rule(
  alert: string,
  expr: string,
  forDuration: string | undefined,
  severity: 'warning' | 'critical',
  summary: string,
  description: string,
): AlertingRule {
  return alertingRule({ alert, expr, for: forDuration, severity, summary, description });
}

/**
 * Alerts on Prometheus itself. Metrics (Prometheus v3.14.0, module v0.314.0): `up` (the scrape loop),
 * `prometheus_rule_evaluation_failures_total` (rules/group.go), `prometheus_notifications_errors_total`,
 * `prometheus_notifications_dropped_total`, `prometheus_notifications_alertmanagers_discovered`
 * (notifier/metric.go), `prometheus_tsdb_compactions_failed_total` (tsdb/db.go),
 * `prometheus_tsdb_wal_corruptions_total` (tsdb/head.go), `prometheus_remote_storage_samples_failed_total` and
 * `prometheus_remote_storage_samples_retried_total` (storage/remote/queue_manager.go). A full volume is the volume
 * alerts' job.
 */
export function prometheusRules(sendsAlerts: boolean, remoteWrites = false): RuleGroup {
  const self = 'job="prometheus"';
  const rules: AlertingRule[] = [
    rule(
      'PrometheusTargetDown',
      // BMC walks (labelled bmc) have an alert of their own per server.
      'up{bmc=""} == 0',
      '10m',
      'warning',
      'Prometheus cannot scrape {{ $labels.job }} target {{ $labels.instance }}',
      "Every scrape of {{ $labels.instance }} (job {{ $labels.job }}) has failed for 10 minutes: its metrics are missing and its own alerts cannot fire. Open the target on Prometheus's /targets page for the error; a refused connection means the pod is down or not ready (kubectl get pods), a timeout or 403 points at the network or RBAC.",
    ),
    rule(
      'PrometheusRuleEvaluationFailures',
      `sum by (job, instance, rule_group) (rate(prometheus_rule_evaluation_failures_total{${self}}[5m])) > 0`,
      '15m',
      'critical',
      'Prometheus fails to evaluate rule group {{ $labels.rule_group }}',
      'Rules of group {{ $labels.rule_group }} have failed to evaluate for 15 minutes: their alerts cannot fire. The Prometheus log and the /rules page name the rule and the error (usually a query that matches series with conflicting labels, or a query timeout); fix the rule in the component that contributes it.',
    ),
    rule(
      'PrometheusTsdbCompactionsFailing',
      `increase(prometheus_tsdb_compactions_failed_total{${self}}[3h]) > 0`,
      '15m',
      'warning',
      'Prometheus {{ $labels.instance }} fails to compact its TSDB',
      'Prometheus has failed to compact blocks in the last 3 hours: the head block grows, memory and WAL replay time with it, and retention cannot delete old data. The Prometheus log says why; a full volume is the usual cause (see the volume alerts), a corrupt block is the other (move it out of /prometheus and restart).',
    ),
    rule(
      'PrometheusTsdbWalCorrupted',
      `increase(prometheus_tsdb_wal_corruptions_total{${self}}[3h]) > 0`,
      undefined,
      'warning',
      'Prometheus {{ $labels.instance }} found a corrupt WAL',
      "Prometheus found a corrupt write-ahead log in the last 3 hours and repaired it by dropping what followed the corruption: some recent samples are lost. It usually follows an unclean stop (an OOM kill, a node lost); check the pod's restarts and memory limit, and the health of the volume.",
    ),
  ];
  if (sendsAlerts) {
    rules.push(
      rule(
        'PrometheusAlertmanagerNotFound',
        `prometheus_notifications_alertmanagers_discovered{${self}} < 1`,
        '10m',
        'critical',
        'Prometheus {{ $labels.instance }} has no Alertmanager to send alerts to',
        'Prometheus has discovered no ready Alertmanager for 10 minutes: every alert, this one included, goes nowhere. Check that the alertmanager pods run and are ready (kubectl get statefulset alertmanager) and that Prometheus may list endpoint slices in their namespace.',
      ),
      rule(
        'PrometheusNotificationErrors',
        `sum by (job, instance, alertmanager) (rate(prometheus_notifications_errors_total{${self}}[5m])) > 0`,
        '15m',
        'warning',
        'Prometheus fails to send alerts to {{ $labels.alertmanager }}',
        'Sending alerts from Prometheus to the Alertmanager at {{ $labels.alertmanager }} has failed for 15 minutes. The other Alertmanagers of the cluster still get them; check that pod (kubectl logs, readiness) and the network between the two.',
      ),
      rule(
        'PrometheusDroppingAlerts',
        `sum by (job, instance) (rate(prometheus_notifications_dropped_total{${self}}[5m])) > 0`,
        '5m',
        'critical',
        'Prometheus {{ $labels.instance }} drops alerts',
        'Prometheus has dropped alerts for 5 minutes because no Alertmanager took them: nobody is notified of anything. Check the alertmanager pods and their logs now, and the Prometheus log for the send errors.',
      ),
    );
  }
  if (remoteWrites) {
    const rate = (counter: string) => `sum by (job, instance, remote_name, url) (rate(${counter}{${self}}[5m]))`;
    rules.push(
      rule(
        'PrometheusRemoteWriteFailing',
        `${rate('prometheus_remote_storage_samples_failed_total')} + ${rate('prometheus_remote_storage_samples_retried_total')} > 0`,
        '15m',
        'critical',
        'Prometheus {{ $labels.instance }} fails to write to the metrics store at {{ $labels.url }}',
        'Prometheus has failed to remote-write samples to the external metrics store for 15 minutes, or has had to retry them: Grafana, which queries the store, shows gaps or stale data, and what fails for good is lost. The Prometheus log names the HTTP status: 401 or 403 is the credential Secret or the tenant, 400 a sample the store rejects (a limit of the tenant), 5xx or timeouts the store or the network to it (egress policies).',
      ),
    );
  }
  return { name: 'prometheus', rules };
}

/**
 * The stack's volumes filling up, from the kubelet's volume statistics (`kubelet_volume_stats_available_bytes`
 * and `kubelet_volume_stats_capacity_bytes`, labelled namespace and persistentvolumeclaim: kubernetes
 * pkg/kubelet/metrics/metrics.go and collectors/volume_stats.go, v1.36.3).
 */
export function volumeRules(namespace: string): RuleGroup {
  const free = `kubelet_volume_stats_available_bytes{job="kubelet", namespace="${namespace}"} / kubelet_volume_stats_capacity_bytes{job="kubelet", namespace="${namespace}"}`;
  const what = 'Volume {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }}';
  const act =
    'Lower the retention of the component that writes it, or grow the claim (with a StorageClass that allows expansion: raise the storage value and apply; otherwise migrate to a larger claim).';
  return {
    name: 'volumes',
    rules: [
      rule(
        'VolumeFillingUp',
        `${free} < 0.15`,
        '15m',
        'warning',
        `${what} is {{ $value | humanizePercentage }} free`,
        `${what} (on node {{ $labels.node }}) has had less than 15% of its space free for 15 minutes. ${act}`,
      ),
      rule(
        'VolumeAlmostFull',
        `${free} < 0.05`,
        '5m',
        'critical',
        `${what} is {{ $value | humanizePercentage }} free`,
        `${what} (on node {{ $labels.node }}) has less than 5% of its space free: the component that writes it will fail to write within hours and may lose data. ${act}`,
      ),
    ],
  };
}

/** The `prometheus` section of the values. */
export const prometheusValues = z
  .strictObject({
    retention: duration().default('15d').describe('How long samples are kept (storage.tsdb.retention.time).'),
    retentionSize: byteSize().default('8GB').describe('Disk budget of the TSDB blocks (storage.tsdb.retention.size); keep it below `storage`.'),
    storage: quantity().default('10Gi').describe('Size of the PersistentVolumeClaim mounted at /prometheus.'),
    scrapeInterval: duration().default('30s').describe('Default scrape interval (global.scrape_interval).'),
    scrapeTimeout: duration().default('10s').describe('Default scrape timeout (global.scrape_timeout); must not exceed scrapeInterval.'),
    evaluationInterval: duration().default('30s').describe('How often rules are evaluated (global.evaluation_interval).'),
    startupTimeout: startupTimeout('10m', 'Prometheus replays its write-ahead log (minutes for a large TSDB)'),
    replicas: z
      .int({ error: 'is not a replica count (0, 1 or 2)' })
      .min(0, { error: 'is not a replica count: use 1, 2 for an HA pair, or 0 to stop a single Prometheus and keep its data' })
      .max(2, { error: 'is more than 2: Prometheus runs alone (1) or as an HA pair of identical copies (2)' })
      .default(1)
      .describe(
        'Pods: 1; 2 for an HA pair (identical copies, each on a claim of its own, told apart by an external label); 0 stops a single Prometheus and keeps its data. Moving between 1 and 2 recreates the StatefulSet (see README).',
      ),
    resources: resources({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } }),
    external: externalBackendValues({
      write: 'http://mimir-gateway.mimir.svc.cluster.local/api/v1/push',
      query: 'http://mimir-gateway.mimir.svc.cluster.local/prometheus',
    })
      .optional()
      .describe(
        'A metrics store outside the stack (Mimir, or any Prometheus-compatible remote-write and query API): Prometheus remote-writes every sample to it and Grafana queries it. Default: none, Grafana queries Prometheus.',
      ),
  })
  .prefault({});

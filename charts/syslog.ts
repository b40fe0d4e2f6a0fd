import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ConfigFiles } from './shared/config-file.ts';
import type { GrafanaHub } from './shared/datasources.ts';
import type { Endpoint } from './shared/endpoint.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import { mountPromtailConfig, promtailConfig, promtailContainer, promtailDashboard, promtailRules, PROMTAIL_METRICS_PORT_NAME, type PromtailScrapeConfig } from './shared/promtail.ts';
import { podScrapeJob, type MetricsHub, type RelabelConfig } from './shared/scrape.ts';
import { hardenedContainer, stackDeployment, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGES } from './versions.ts';

/** Message format of a listener: RFC 5424, or the older BSD format most network gear sends (RFC 3164). */
export type SyslogFormat = 'rfc5424' | 'rfc3164';

/** One syslog listener as devices see it. */
export interface SyslogListener {
  /** Port on the Service, where devices send. */
  readonly port: number;
  /** Message format the devices send on it. */
  readonly format: SyslogFormat;
}

/** A known device: messages from its address are labelled with who it is. */
export interface SyslogDevice {
  /** Source address it sends from, as the receiver sees it. */
  readonly address: string;
  /** The `device` label. */
  readonly name: string;
  /** The `site` label. @default - none */
  readonly site?: string;
  /** The `role` label. @default - none */
  readonly role?: string;
}

/** How the receiver is exposed to devices. */
export type SyslogServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** Properties of {@link Syslog}. */
export interface SyslogProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** Value of the `cluster` label on every entry. */
  readonly clusterName: string;
  /** Loki's push endpoint (`loki.pushEndpoint`). */
  readonly push: Endpoint;
  /** Type of the Service devices send to. */
  readonly serviceType: SyslogServiceType;
  /** The TCP listener (octet-counting and newline framing are both detected). */
  readonly tcp: SyslogListener;
  /** The UDP listener. */
  readonly udp: SyslogListener;
  /** Whether an entry takes the device's timestamp instead of the receive time. */
  readonly useIncomingTimestamp: boolean;
  /** Device inventory. @default - no device labels */
  readonly devices?: readonly SyslogDevice[];
  /** Requests and limits of the receiver container. */
  readonly resources: ContainerResourceValues;
  /** Where the receiver contributes its scrape job. @default - the receiver is not scraped */
  readonly metrics?: MetricsHub;
  /** Where the component's dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/**
 * A syslog receiver for switches, routers and firewalls: one Promtail with a TCP and a UDP listener (Promtail
 * takes one protocol per listener), behind a Service devices send to, pushing to Loki.
 *
 * Entries carry `job=syslog`, `host` (the hostname in the message), `source_ip` (the sender's address),
 * `app`, `level` (severity) and `facility`, plus `device`, `site` and `role` for addresses in the inventory.
 *
 * @see https://github.com/grafana/loki/blob/v3.6.11/docs/sources/send-data/promtail/configuration.md#syslog
 */
export class Syslog extends Chart {
  /** Container port of both listeners: unprivileged, since the receiver does not run as root. */
  public static readonly LISTEN_PORT = 1514;
  /** `nobody`: the Promtail image has no user of its own, and the receiver needs no file of the host. */
  private static readonly USER = 65534;
  private static readonly TMP_DIR = '/tmp';

  /** The Deployment running the receiver. */
  public readonly deployment: kplus.Deployment;
  /** The Service devices send to. */
  public readonly service: kplus.Service;
  /** The ConfigMap holding `promtail.yaml`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: SyslogProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'promtail', instance: 'syslog', component: 'syslog-receiver', version: imageVersion(IMAGES.promtail) };
    const labels = recommendedLabels(identity);
    const devices = props.devices ?? [];

    const listener = (protocol: 'tcp' | 'udp', { format }: SyslogListener): PromtailScrapeConfig => ({
      job_name: `syslog-${protocol}`,
      syslog: {
        listen_address: `0.0.0.0:${Syslog.LISTEN_PORT}`,
        listen_protocol: protocol,
        syslog_format: format,
        labels: { job: 'syslog' },
        use_incoming_timestamp: props.useIncomingTimestamp,
      },
      relabel_configs: [...messageLabels(), ...devices.flatMap(deviceLabels)],
    });
    this.config = new ConfigFiles(this, 'Config', {
      name: 'syslog-config',
      labels,
      files: {
        'promtail.yaml': promtailConfig({
          // Syslog has no position to keep; Promtail wants the file all the same.
          positionsFile: `${Syslog.TMP_DIR}/positions.yaml`,
          push: props.push,
          clusterName: props.clusterName,
          scrapeConfigs: [listener('tcp', props.tcp), listener('udp', props.udp)],
        }),
      },
    });

    // One receiver, not one per node: network gear sends to one address, and with `externalTrafficPolicy:
    // Local` only the node running it takes the traffic.
    this.deployment = stackDeployment(this, 'Deployment', {
      identity,
      name: 'syslog',
      replicas: 1,
      user: Syslog.USER,
      persistent: false,
      configChecksum: this.config.checksum,
    });
    const base = promtailContainer();
    const container = this.deployment.addContainer({
      ...base,
      ...hardenedContainer({ image: IMAGES.promtail, user: Syslog.USER, resources: props.resources }),
      ports: [
        ...base.ports ?? [],
        { name: 'syslog-tcp', number: Syslog.LISTEN_PORT, protocol: kplus.Protocol.TCP },
        { name: 'syslog-udp', number: Syslog.LISTEN_PORT, protocol: kplus.Protocol.UDP },
      ],
    });
    mountPromtailConfig(container, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }));
    container.mount(Syslog.TMP_DIR, kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp'));

    this.service = stackService(this, 'Service', {
      name: 'syslog',
      identity,
      type: SERVICE_TYPES[props.serviceType],
      ports: [
        { name: 'syslog-tcp', port: props.tcp.port, targetPort: Syslog.LISTEN_PORT, protocol: kplus.Protocol.TCP },
        { name: 'syslog-udp', port: props.udp.port, targetPort: Syslog.LISTEN_PORT, protocol: kplus.Protocol.UDP },
      ],
    });
    if (props.serviceType !== 'ClusterIP') {
      // Without it, kube-proxy may forward through another node and replace the device's address with that
      // node's, and `source_ip` (and the inventory labels) would name a node. kplus has no property for it.
      ApiObject.of(this.service).addJsonPatch(JsonPatch.add('/spec/externalTrafficPolicy', 'Local'));
    }

    // Scraped pod by pod: the Service may face the network, and must not expose metrics.
    props.metrics?.addScrapeJob(podScrapeJob({
      jobName: 'syslog',
      namespace: props.namespace,
      selector: selectorLabels(identity),
      portName: PROMTAIL_METRICS_PORT_NAME,
    }));
    props.metrics?.addRuleGroup(promtailRules({ group: 'syslog', job: 'syslog', alertPrefix: 'SyslogReceiver', what: 'The syslog receiver' }));
    props.grafana?.addDashboard(promtailDashboard({ uid: 'sightline-syslog', title: 'Syslog receiver', job: 'syslog', what: 'the syslog receiver' }));
  }
}

const SERVICE_TYPES: Record<SyslogServiceType, kplus.ServiceType> = {
  ClusterIP: kplus.ServiceType.CLUSTER_IP,
  NodePort: kplus.ServiceType.NODE_PORT,
  LoadBalancer: kplus.ServiceType.LOAD_BALANCER,
};

/** What every message says about itself, and where it came from. */
function messageLabels(): RelabelConfig[] {
  return [
    { source_labels: ['__syslog_message_hostname'], target_label: 'host' },
    { source_labels: ['__syslog_connection_ip_address'], target_label: 'source_ip' },
    { source_labels: ['__syslog_message_app_name'], target_label: 'app' },
    { source_labels: ['__syslog_message_severity'], target_label: 'level' },
    { source_labels: ['__syslog_message_facility'], target_label: 'facility' },
  ];
}

/** The inventory labels of one device, set on messages from exactly its address. */
function deviceLabels(device: SyslogDevice): RelabelConfig[] {
  // Relabel regexes are anchored at both ends; only the dots of an IPv4 address need escaping.
  const regex = device.address.replaceAll('.', '\\.');
  const labels: Array<[string, string | undefined]> = [['device', device.name], ['site', device.site], ['role', device.role]];
  return labels
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([target, value]) => ({ source_labels: ['__syslog_connection_ip_address'], regex, target_label: target, replacement: value }));
}

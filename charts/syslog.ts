import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { alloyRules } from './alloy.ts';
import {
  ALLOY_CONFIG_FILE,
  ALLOY_HTTP_PORT,
  ALLOY_METRICS_PORT_NAME,
  alloyContainer,
  LOKI_WRITE_RECEIVER,
  lokiWrite,
  mountAlloyConfig,
  relabelRulesComponent,
} from './shared/alloy.ts';
import { renderAlloy, type AlloyBlock } from './shared/alloy-syntax.ts';
import { ConfigFiles } from './shared/config-file.ts';
import type { GrafanaHub } from './shared/datasources.ts';
import type { SignalTarget } from './shared/signal-target.ts';
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
import { podScrapeJob, type MetricsHub, type RelabelConfig } from './shared/scrape.ts';
import { hardenedContainer, stackDeployment, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { allowIngress, podPort, podsOf } from './shared/network.ts';
import { IMAGES } from './versions.ts';
import { canonicalIp, cidr, labelValue, port, resources } from './shared/fields.ts';

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
  /** Loki's push API (`logs.push`): the stack's Loki, or an external one. */
  readonly push: SignalTarget;
  /** Type of the Service devices send to. */
  readonly serviceType: SyslogServiceType;
  /**
   * Source networks a LoadBalancer admits (`spec.loadBalancerSourceRanges`); the cloud's load balancer or
   * firewall enforces it. Only for a LoadBalancer.
   * @default - any source
   */
  readonly loadBalancerSourceRanges?: readonly string[];
  /** Annotations of the Service, e.g. the cloud's annotation for an internal load balancer. @default - none */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
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
  /** The program receiving: Promtail, or Grafana Alloy (`logs.agent`). Same Service, listeners and labels. @default 'promtail' */
  readonly agent?: LogAgent;
  /** Where the component's dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/** The log agents Sightline can run: Promtail (end of life, the default) or its successor Grafana Alloy. */
export type LogAgent = 'promtail' | 'alloy';

/**
 * A syslog receiver for switches, routers and firewalls: one Promtail (or Alloy's `loki.source.syslog`) with a
 * TCP and a UDP listener (each takes one protocol per listener), behind a Service devices send to, pushing to
 * Loki.
 *
 * Entries carry `job=syslog`, `host` (the hostname in the message), `source_ip` (the sender's address),
 * `app`, `level` (severity) and `facility`, plus `device`, `site` and `role` for addresses in the inventory.
 *
 * @see https://github.com/grafana/loki/blob/v3.6.11/docs/sources/send-data/promtail/configuration.md#syslog
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/reference/components/loki/loki.source.syslog.md
 */
export class Syslog extends Chart {
  /** Container port of both listeners: unprivileged, since the receiver does not run as root. */
  public static readonly LISTEN_PORT = 1514;
  /**
   * The user the receiver runs as: it needs no file of the host. `nobody` for Promtail, whose image has no user
   * of its own; Alloy's image has one (`alloy`, 473).
   */
  private static readonly USERS: Record<LogAgent, number> = { promtail: 65534, alloy: 473 };
  private static readonly TMP_DIR = '/tmp';

  /** The Deployment running the receiver. */
  public readonly deployment: kplus.Deployment;
  /** The Service devices send to. */
  public readonly service: kplus.Service;
  /** The ConfigMap holding `promtail.yaml` or `config.alloy`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: SyslogProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const agent = props.agent ?? 'promtail';
    const identity: ComponentIdentity = { name: agent, instance: 'syslog', component: 'syslog-receiver', version: imageVersion(IMAGES[agent]) };
    const labels = recommendedLabels(identity);
    const rules = [...messageLabels(), ...(props.devices ?? []).flatMap(deviceLabels)];
    const listeners = [
      { protocol: 'tcp', ...props.tcp },
      { protocol: 'udp', ...props.udp },
    ] as const;

    this.config = new ConfigFiles(this, 'Config', {
      name: 'syslog-config',
      labels,
      files:
        agent === 'alloy'
          ? { [ALLOY_CONFIG_FILE]: renderAlloy(alloySyslogConfig(props, listeners, rules)) }
          : {
              'promtail.yaml': promtailConfig({
                // Syslog has no position to keep; Promtail wants the file all the same.
                positionsFile: `${Syslog.TMP_DIR}/positions.yaml`,
                push: props.push,
                clusterName: props.clusterName,
                scrapeConfigs: listeners.map(
                  ({ protocol, format }): PromtailScrapeConfig => ({
                    job_name: `syslog-${protocol}`,
                    syslog: {
                      listen_address: `0.0.0.0:${Syslog.LISTEN_PORT}`,
                      listen_protocol: protocol,
                      syslog_format: format,
                      labels: { job: 'syslog' },
                      use_incoming_timestamp: props.useIncomingTimestamp,
                    },
                    relabel_configs: rules,
                  }),
                ),
              }),
            },
    });

    // One receiver, not one per node: network gear sends to one address, and with `externalTrafficPolicy:
    // Local` only the node running it takes the traffic.
    const user = Syslog.USERS[agent];
    this.deployment = stackDeployment(this, 'Deployment', {
      identity,
      name: 'syslog',
      replicas: 1,
      user,
      persistent: false,
      configChecksum: this.config.checksum,
    });
    // Alloy keeps its components' data under the storage path, which for a receiver holds nothing worth keeping.
    const base = agent === 'alloy' ? alloyContainer(`${Syslog.TMP_DIR}/alloy`) : promtailContainer();
    const container = this.deployment.addContainer({
      ...base,
      ...hardenedContainer({ image: IMAGES[agent], user, resources: props.resources }),
      ports: [
        ...(base.ports ?? []),
        { name: 'syslog-tcp', number: Syslog.LISTEN_PORT, protocol: kplus.Protocol.TCP },
        { name: 'syslog-udp', number: Syslog.LISTEN_PORT, protocol: kplus.Protocol.UDP },
      ],
    });
    const configVolume = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' });
    if (agent === 'alloy') mountAlloyConfig(container, configVolume);
    else mountPromtailConfig(container, configVolume);
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
    const ranges = props.loadBalancerSourceRanges ?? [];
    if (ranges.length > 0) {
      if (props.serviceType !== 'LoadBalancer') throw new Error(`loadBalancerSourceRanges need a LoadBalancer Service, not ${props.serviceType}`);
      ApiObject.of(this.service).addJsonPatch(JsonPatch.add('/spec/loadBalancerSourceRanges', [...ranges]));
    }
    for (const [key, value] of Object.entries(props.serviceAnnotations ?? {})) this.service.metadata.addAnnotation(key, value);

    // Scraped pod by pod: the Service may face the network, and must not expose metrics.
    props.push.connect(this.deployment, container);
    // Devices send from outside the cluster, from addresses no policy can list: the listeners are open to all
    // (narrow who reaches the Service with loadBalancerSourceRanges).
    for (const protocol of ['TCP', 'UDP'] as const) {
      allowIngress(this, podsOf(this.deployment), { port: Syslog.LISTEN_PORT, protocol }, { anywhere: true });
    }
    props.metrics?.addScrapeJob(
      podScrapeJob({
        jobName: 'syslog',
        namespace: props.namespace,
        selector: selectorLabels(identity),
        portName: agent === 'alloy' ? ALLOY_METRICS_PORT_NAME : PROMTAIL_METRICS_PORT_NAME,
      }),
      podPort(this.deployment, { port: agent === 'alloy' ? ALLOY_HTTP_PORT : PROMTAIL_HTTP_PORT, protocol: 'TCP' }),
    );
    // The alerts and dashboard follow the program that receives: each emits its own metrics.
    if (agent === 'alloy') {
      // The node agents' alerts, named for the receiver: one alert name means one thing in Alertmanager.
      const rules = alloyRules('syslog').rules.map((rule) =>
        'alert' in rule ? { ...rule, alert: rule.alert.replace(/^Alloy/, 'SyslogReceiver') } : rule,
      );
      props.metrics?.addRuleGroup({ name: 'syslog', rules });
    } else {
      props.metrics?.addRuleGroup(promtailRules({ group: 'syslog', job: 'syslog', alertPrefix: 'SyslogReceiver', what: 'The syslog receiver' }));
      props.grafana?.addDashboard(
        promtailDashboard({ uid: 'sightline-syslog', title: 'Syslog receiver', job: 'syslog', what: 'the syslog receiver' }),
      );
    }
  }
}

/**
 * `config.alloy` of the receiver: one `loki.source.syslog` with both listeners, labelled by the same rules as
 * Promtail's listeners (held by a `loki.relabel`, which `relabel_rules` takes).
 */
function alloySyslogConfig(
  props: SyslogProps,
  listeners: ReadonlyArray<{ readonly protocol: 'tcp' | 'udp'; readonly format: SyslogFormat }>,
  rules: readonly RelabelConfig[],
): AlloyBlock[] {
  const relabel = relabelRulesComponent('syslog', rules);
  return [
    relabel.block,
    {
      name: 'loki.source.syslog',
      label: 'devices',
      attributes: { relabel_rules: relabel.rules, forward_to: [LOKI_WRITE_RECEIVER] },
      blocks: listeners.map(({ protocol, format }) => ({
        name: 'listener',
        attributes: {
          address: `0.0.0.0:${Syslog.LISTEN_PORT}`,
          protocol,
          syslog_format: format,
          labels: { job: 'syslog' },
          use_incoming_timestamp: props.useIncomingTimestamp,
        },
      })),
    },
    lokiWrite(props.push, props.clusterName),
  ];
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
  const labels: Array<[string, string | undefined]> = [
    ['device', device.name],
    ['site', device.site],
    ['role', device.role],
  ];
  return labels
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([target, value]) => ({ source_labels: ['__syslog_connection_ip_address'], regex, target_label: target, replacement: value }));
}

const syslogFormatValues = z.enum(['rfc5424', 'rfc3164']);

const syslogDeviceValues = z.strictObject({
  address: canonicalIp().describe('Source address the device sends from, as the receiver sees it (IPv6 in its short, lower-case form, RFC 5952).'),
  name: labelValue('a device name').describe('Becomes the `device` label.'),
  site: labelValue('a site name').optional().describe('Becomes the `site` label.'),
  role: labelValue('a role').optional().describe('Becomes the `role` label, e.g. core-switch, firewall.'),
});

/** The `syslog` section of the values. */
export const syslogValues = z
  .strictObject({
    serviceType: z
      .enum(['ClusterIP', 'NodePort', 'LoadBalancer'])
      .default('NodePort')
      .describe('How devices reach the receiver. NodePort and LoadBalancer keep the source address (externalTrafficPolicy: Local).'),
    loadBalancerSourceRanges: z
      .array(cidr())
      .default([])
      .describe(
        'Source networks the cloud load balancer admits (spec.loadBalancerSourceRanges), e.g. the management networks of the devices. Empty: any source. Only with serviceType LoadBalancer.',
      ),
    serviceAnnotations: z
      .record(z.string().min(1), z.string())
      .default({})
      .describe('Annotations of the syslog Service, e.g. to make the cloud load balancer internal (see README).'),
    tcp: z
      .strictObject({
        port: port().default(514).describe('Service port of the TCP listener.'),
        format: syslogFormatValues.default('rfc5424').describe('Message format on TCP; octet-counting and newline framing are both detected.'),
      })
      .prefault({}),
    udp: z
      .strictObject({
        port: port().default(514).describe('Service port of the UDP listener.'),
        format: syslogFormatValues.default('rfc3164').describe('Message format on UDP; rfc3164 is what most network gear sends.'),
      })
      .prefault({}),
    useIncomingTimestamp: z
      .boolean()
      .default(false)
      .describe("Use the device's timestamp instead of the receive time (device clocks drift: keep false unless they run NTP)."),
    devices: z.array(syslogDeviceValues).default([]).describe('Device inventory: messages from an address get its name, site and role as labels.'),
    resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    if (v.loadBalancerSourceRanges.length > 0 && v.serviceType !== 'LoadBalancer') {
      ctx.addIssue({
        code: 'custom',
        path: ['loadBalancerSourceRanges'],
        input: v.loadBalancerSourceRanges,
        message: `is set, but only a LoadBalancer Service applies it (syslog.serviceType is ${v.serviceType})`,
      });
    }
    for (const key of ['name', 'address'] as const) {
      const first = new Map<string, number>();
      v.devices.forEach((device, i) => {
        const seen = first.get(device[key]);
        if (seen === undefined) first.set(device[key], i);
        else
          ctx.addIssue({
            code: 'custom',
            path: ['devices', i, key],
            input: device[key],
            message: `is already the ${key} of syslog.devices[${seen}]`,
          });
      });
    }
  });

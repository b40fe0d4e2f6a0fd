import { isIP, isIPv6 } from 'node:net';
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import type { GrafanaHub } from './shared/datasources.ts';
import { Endpoint } from './shared/endpoint.ts';
import { allowEgress } from './shared/network.ts';
import { imageVersion, type ComponentIdentity } from './shared/labels.ts';
import type { AlertingRule, FileSdConfig, MetricsHub, RuleGroup, ScrapeConfig, StaticConfig } from './shared/scrape.ts';
import { serverHardwareDashboard } from './redfish-dashboard.ts';
import { externalSecret, hardenedContainer, stackDaemonSet, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGE_PROCESSES, IMAGES } from './versions.ts';
import {
  checkCanonicalIp,
  checkLookback,
  dnsLabel,
  duration,
  k8sLabelKey,
  k8sLabelValue,
  labelValue,
  LOOKBACK_BUDGET,
  port,
  resources,
  secretDataKey,
} from './shared/fields.ts';
import { HOST_NAME, seconds } from './shared/units.ts';

/** One server whose BMC is scraped. */
export interface RedfishServer {
  /** Name of the server: the `instance` label of its series, the `server` label of its alerts. */
  readonly name: string;
  /** Its BMC: host name, IP address, or http(s) URL. Names and IPs are reached over https. */
  readonly bmc: string;
  /** Extra labels of its series (rack, site, model, node, ...). */
  readonly labels: Readonly<Record<string, string>>;
}

/** BMCs reachable from the same nodes with the same credentials: one exporter DaemonSet and one scrape job. */
export interface RedfishGroup {
  /** Names the `redfish-<name>` DaemonSet, Service and scrape job, and is the `group` label. */
  readonly name: string;
  /** Labels of the nodes that can reach the group's BMCs; each of them runs an exporter. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Whether the exporters use the node's network namespace (a management network not routed to pods). */
  readonly hostNetwork: boolean;
  /** Port the exporter listens on. */
  readonly port: number;
  /** Secret created out of band with the exporter's config file (credentials, `verifyTls`). */
  readonly configSecret: { readonly name: string; readonly key: string };
  /** How often each BMC is walked. */
  readonly scrapeInterval: string;
  /** How long a walk may take; shorter than the interval. */
  readonly scrapeTimeout: string;
  /** The servers of the group. */
  readonly servers: readonly RedfishServer[];
}

/** Properties of {@link Redfish}. */
export interface RedfishProps {
  /** Namespace of the exporters; it must admit hostNetwork pods if any group uses them. */
  readonly namespace: string;
  /** The exporter groups; at least one. */
  readonly groups: readonly RedfishGroup[];
  /** Requests and limits of each exporter container. */
  readonly resources: ContainerResourceValues;
  /** Where the scrape jobs and alert rules go. */
  readonly metrics: MetricsHub;
  /** Where the "Server hardware" dashboard goes. */
  readonly grafana: GrafanaHub;
}

/**
 * Hardware monitoring through the servers' BMCs with the Redfish exporter: per group of BMCs, an exporter on
 * each node that can reach them and a multi-target scrape job (one target per server, no Kubernetes object per
 * server); hardware alerts and the "Server hardware" dashboard.
 *
 * A DaemonSet rather than a Deployment: the node selector already names the nodes that can reach the BMCs,
 * so an exporter on each of them needs no replica count or anti-affinity to tune, survives the loss of any one
 * node, and the group's Service spreads the slow BMC walks over all of them.
 *
 * @see https://github.com/G-PORTAL/redfish_exporter
 */
export class Redfish extends Chart {
  /** The image takes its user from a base image we cannot inspect; the pods state one, `nobody`. */
  private static readonly USER = 65534;
  private static readonly CONFIG_DIR = '/etc/redfish_exporter';
  private static readonly CONFIG_FILE = 'config.yml';

  /** Job names of the groups start with this. */
  public static readonly JOB_PREFIX = 'redfish-';
  /** Uid of the "Server hardware" dashboard. */
  public static readonly DASHBOARD_UID = 'sightline-server-hardware';

  /** Each group's exporter Service, by group name: what Prometheus scrapes. */
  public readonly endpoints: ReadonlyMap<string, Endpoint>;

  public constructor(scope: Construct, id: string, props: RedfishProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    if (props.groups.length === 0) throw new Error('Redfish needs at least one exporter group');
    const endpoints = new Map<string, Endpoint>();
    for (const group of props.groups) {
      const endpoint = this.addGroup(group, props.resources);
      endpoints.set(group.name, endpoint);
      const servers = props.metrics.addTargetGroups(`${Redfish.JOB_PREFIX}${group.name}`, serverTargets(group));
      props.metrics.addScrapeJob(scrapeJob(group, endpoint, servers), endpoint);
    }
    this.endpoints = endpoints;
    props.metrics.addRuleGroup(hardwareRules());
    props.metrics.addRuleGroup(exporterRules());
    props.grafana.addDashboard(serverHardwareDashboard({ uid: Redfish.DASHBOARD_UID, jobs: JOBS }));
  }

  private addGroup(group: RedfishGroup, resources: ContainerResourceValues): Endpoint {
    const name = `${Redfish.JOB_PREFIX}${group.name}`;
    const identity: ComponentIdentity = {
      name: 'redfish-exporter',
      instance: name,
      component: 'hardware-metrics',
      version: imageVersion(IMAGES.redfishExporter),
    };
    const daemonSet = stackDaemonSet(this, `${group.name}-DaemonSet`, {
      identity,
      name,
      user: Redfish.USER,
      nodeSelector: group.nodeSelector,
      hostNetwork: group.hostNetwork,
    });
    const secret = externalSecret(daemonSet, group.configSecret.name);
    const { securityContext, ...hardened } = hardenedContainer({ image: IMAGES.redfishExporter, user: Redfish.USER, resources });
    const container = daemonSet.addContainer({
      name: 'redfish-exporter',
      ...hardened,
      securityContext: {
        ...securityContext,
        // The image's Dockerfile marks the binary `setcap cap_net_bind_service+ep`. For a binary with the
        // effective bit set, execve fails with EPERM unless the kernel can grant every file capability, and
        // it grants only what the bounding set holds: with ALL dropped the container would never start
        // ("exec ...: operation not permitted"). Adding back NET_BIND_SERVICE, the one capability Pod Security
        // `restricted` allows, keeps it in the bounding set and exec succeeds. no_new_privs
        // (allowPrivilegeEscalation: false) still caps the process at what the container was given, and the
        // exporter's port is unprivileged: the capability is never used.
        capabilities: { drop: [kplus.Capability.ALL], add: [kplus.Capability.NET_BIND_SERVICE] },
      },
      // The image has no ENTRYPOINT, only a CMD naming the binary, which `args` would replace: the
      // container names the program itself.
      command: [...IMAGE_PROCESSES.redfishExporter.cmd],
      args: [`-config.file=${Redfish.CONFIG_DIR}/${Redfish.CONFIG_FILE}`, `-web.listen-address=:${group.port}`],
      ports: [{ name: 'http', number: group.port }],
      // /metrics without ?host= walks no BMC and answers 500, so the probes can only check the socket.
      readiness: kplus.Probe.fromTcpSocket({
        port: group.port,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(2),
        failureThreshold: 3,
      }),
      liveness: kplus.Probe.fromTcpSocket({
        port: group.port,
        periodSeconds: Duration.seconds(20),
        timeoutSeconds: Duration.seconds(2),
        failureThreshold: 3,
      }),
    });
    // The exporter reads its config once at start: after changing the Secret, `kubectl rollout restart` the DaemonSet.
    const config = kplus.Volume.fromSecret(this, `${group.name}-ConfigVolume`, secret, {
      name: 'config',
      items: { [group.configSecret.key]: { path: Redfish.CONFIG_FILE } },
      // Readable by the pod's group (fsGroup) only: the file holds BMC credentials.
      defaultMode: 0o440,
    });
    container.mount(Redfish.CONFIG_DIR, config, { readOnly: true });
    // The BMCs are outside the cluster, at addresses the inventory may give as names: with egress restricted,
    // the exporters may reach any address, but only on the ports of the group's BMC URLs.
    allowEgress(
      daemonSet,
      { anywhere: true },
      bmcPorts(group).map((port) => ({ port, protocol: 'TCP' })),
    );

    const service = stackService(this, `${group.name}-Service`, { name, identity, ports: [{ name: 'http', port: group.port }] });
    return Endpoint.fromService(service, group.port, { scheme: 'http' });
  }
}

/**
 * Every label name the stack itself puts on hardware series and alerts, and why: a server label of the same
 * name would overwrite it or be overwritten (a target label hides the exporter's own, which Prometheus then
 * renames `exported_<name>`; an alert's label replaces the series'). Values refuse these as server labels.
 */
export const REDFISH_RESERVED_LABELS = {
  instance: 'the server name, set for each target',
  job: 'the scrape job, redfish-<group>',
  bmc: 'the BMC address, set by relabeling',
  group: 'the exporter group, set by relabeling',
  server: 'set on every hardware alert',
  severity: 'set on every hardware alert',
  alertname: 'the name of every alert',
  cluster: "Prometheus's external label, which a series label of the same name would hide",
  system_id: "the exporter's own label",
  processor_id: "the exporter's own label",
  memory_id: "the exporter's own label",
  storage_id: "the exporter's own label",
  drive_id: "the exporter's own label",
  version: "the exporter's own label (BIOS version)",
} as const satisfies Readonly<Record<string, string>>;

/** Matcher of the series of every group's scrape job, for rules and panels. */
const JOBS = `job=~"${Redfish.JOB_PREFIX}.+"`;

/** The ports of a group's BMC URLs (443 for https, 80 for http, unless the URL names one), each once. */
export function bmcPorts(group: RedfishGroup): number[] {
  const ports = group.servers.map((server) => {
    const url = new URL(bmcUrl(server.bmc));
    return url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** The URL the exporter is asked to walk: https unless the inventory says otherwise, no trailing slash. */
export function bmcUrl(bmc: string): string {
  if (/^https?:\/\//.test(bmc)) return new URL(bmc).origin;
  return `https://${isIPv6(bmc) ? `[${bmc}]` : bmc}`;
}

/**
 * The servers of a group as target groups of the static_config format: the address is the BMC URL, `instance`
 * the server's name, then its own labels. They reach Prometheus through file discovery rather than inline in
 * prometheus.yml: a thousand servers with their labels would bring that ConfigMap near the 262,144 bytes
 * `kubectl apply` can record, and every inventory change would restart Prometheus.
 */
export function serverTargets(group: RedfishGroup): StaticConfig[] {
  return group.servers.map((server) => ({ targets: [bmcUrl(server.bmc)], labels: { instance: server.name, ...server.labels } }));
}

/**
 * The multi-target scrape job of a group, over the servers `discovery` reads: relabeling turns each target's
 * address into the exporter's `host` parameter and the `bmc` label, adds `group`, and sends the scrape to the
 * group's Service.
 */
export function scrapeJob(group: RedfishGroup, exporter: Endpoint, discovery: FileSdConfig): ScrapeConfig {
  return {
    job_name: `${Redfish.JOB_PREFIX}${group.name}`,
    scrape_interval: group.scrapeInterval,
    scrape_timeout: group.scrapeTimeout,
    metrics_path: '/metrics',
    file_sd_configs: [discovery],
    relabel_configs: [
      { source_labels: ['__address__'], target_label: '__param_host' },
      { source_labels: ['__address__'], regex: 'https?://(.+)', target_label: 'bmc' },
      { target_label: 'group', replacement: group.name },
      { target_label: '__address__', replacement: exporter.hostPort },
    ],
  };
}

/**
 * What a component's health value means, for annotations. The exporter reports 1 OK, 2 Warning, 3 Critical,
 * and also 2 for a component whose BMC gives no `Status.Health` at all when it is enabled (processors, memory,
 * storage controllers, HPE drives) or, for a drive, when it predicts the drive's failure (redfish_exporter
 * v1.5.1, pkg/drivers/redfish/metrics/metrics.go, convertHealthStatus): 2 says no more than "Warning or not
 * reported".
 */
const COMPONENT_STATE = '{{ if eq $value 3.0 }}Critical{{ else }}Warning or not reported{{ end }}';

/** Where an alert happened, the same in every description. */
const WHERE = 'server {{ $labels.instance }} (group {{ $labels.group }}, BMC {{ $labels.bmc }})';

/** An alert about one server: `server` is its name, `group` comes with its series. */
function serverAlert(rule: {
  alert: string;
  expr: string;
  for: string;
  severity: 'warning' | 'critical';
  summary: string;
  description: string;
}): AlertingRule {
  return {
    alert: rule.alert,
    expr: rule.expr,
    for: rule.for,
    labels: { severity: rule.severity, server: '{{ $labels.instance }}' },
    annotations: { summary: rule.summary, description: rule.description },
  };
}

/**
 * An alert on one kind of component whose health is not OK (one alert per failing component).
 *
 * @param unreported when the exporter reports 2 for a component whose BMC gives no health
 */
function componentAlert(alert: string, metric: string, component: string, idLabels: readonly string[], unreported: string): AlertingRule {
  const id = idLabels.map((label) => `{{ $labels.${label} }}`).join('/');
  const part = `${component.toLowerCase()} ${id}`;
  return serverAlert({
    alert,
    expr: `${metric} > 1`,
    for: '15m',
    severity: 'warning',
    summary: `${component} ${id} of {{ $labels.instance }} is ${COMPONENT_STATE}`,
    description: `The BMC of ${WHERE} reports ${part} {{ if eq $value 3.0 }}in Critical health{{ else }}in Warning health, or gives no health for it ${unreported}{{ end }}. Find the part in the BMC's web UI or event log and replace or reseat it in the next maintenance window.`,
  });
}

/** When the exporter reports 2 for a processor, memory module or storage controller without health. */
const ENABLED_UNREPORTED = 'while it is enabled (the exporter counts both as Warning)';

/**
 * The hardware alerts. A scrape failure is `up == 0` (a failed walk answers 500). `for` spans several
 * scrapes, as BMCs report transient states during POST and firmware updates.
 */
export function hardwareRules(): RuleGroup {
  return {
    name: 'redfish',
    rules: [
      serverAlert({
        alert: 'RedfishBmcUnreachable',
        expr: `up{${JOBS}} == 0`,
        for: '10m',
        severity: 'warning',
        summary: 'BMC of {{ $labels.instance }} cannot be read',
        description: `The Redfish exporter has failed to walk the BMC of ${WHERE} for 10 minutes: its hardware is not monitored. The server itself may be fine. Check that the BMC answers from a node of the group, that the credentials in the group's config Secret are valid, and the log of the redfish-{{ $labels.group }} pods; if every server of the group is affected, suspect the exporter or the management network.`,
      }),
      serverAlert({
        alert: 'RedfishSystemHealthCritical',
        expr: 'redfish_health == 3',
        for: '5m',
        severity: 'critical',
        summary: '{{ $labels.instance }} reports Critical system health',
        description: `The BMC of ${WHERE} reports system {{ $labels.system_id }} in Critical health. Find the failed part in the BMC's web UI or event log, and move workloads off the server if it is at risk.`,
      }),
      serverAlert({
        alert: 'RedfishSystemHealthWarning',
        expr: 'redfish_health == 2',
        for: '15m',
        severity: 'warning',
        summary: '{{ $labels.instance }} reports Warning system health',
        description: `The BMC of ${WHERE} reports system {{ $labels.system_id }} in Warning health. Find the degraded part in the BMC's web UI or event log and plan its repair.`,
      }),
      componentAlert('RedfishProcessorUnhealthy', 'redfish_processor_health', 'Processor', ['processor_id'], ENABLED_UNREPORTED),
      componentAlert('RedfishMemoryUnhealthy', 'redfish_memory_health', 'Memory module', ['memory_id'], ENABLED_UNREPORTED),
      componentAlert('RedfishStorageUnhealthy', 'redfish_storage_health', 'Storage controller', ['storage_id'], ENABLED_UNREPORTED),
      // A drive with Health OK and FailurePredicted reports 1: no alert can see it (see the README).
      componentAlert(
        'RedfishDriveUnhealthy',
        'redfish_drive_health',
        'Drive',
        ['storage_id', 'drive_id'],
        'while the BMC predicts its failure, or, behind an HPE Smart Array, while it is enabled (the exporter counts these as Warning)',
      ),
      serverAlert({
        alert: 'RedfishPowerOff',
        expr: 'redfish_power_state == 2',
        for: '10m',
        severity: 'warning',
        summary: '{{ $labels.instance }} is powered off',
        description: `The BMC of ${WHERE} reports system {{ $labels.system_id }} powered off for 10 minutes. If no maintenance is planned, read the BMC's event log for why it went down, then power it on from the BMC.`,
      }),
    ],
  };
}

/**
 * Alerts on the exporters themselves. A down exporter and an unreachable BMC both fail the scrape (`up`), so an
 * exporter group is taken for down when not one of its BMCs can be read.
 */
export function exporterRules(): RuleGroup {
  return {
    name: 'redfish-exporters',
    rules: [
      {
        alert: 'RedfishExporterGroupDown',
        expr: `count by (job, group) (up{${JOBS}} == 0) == count by (job, group) (up{${JOBS}})`,
        for: '10m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'No BMC of group {{ $labels.group }} can be read',
          description:
            "Every server of exporter group {{ $labels.group }} has failed its hardware scrape for 10 minutes: the exporters or the way to the management network are down, not the servers. Check the {{ $labels.job }} pods (kubectl get ds {{ $labels.job }} in the hardware namespace: are they scheduled on the labelled nodes, ready?), their log, and whether the credentials of the group's Secret were rotated.",
        },
      },
    ],
  };
}

const RESERVED_SERVER_LABELS = Object.keys(REDFISH_RESERVED_LABELS);

/**
 * A server label name: one any PromQL query and any Prometheus-era tool accepts unquoted (Prometheus 3 would
 * take UTF-8 names, but only quoted in PromQL), not starting with `__` (dropped after relabeling), and none
 * of the labels the stack sets on hardware series and alerts itself, which would overwrite it or be
 * overwritten. Regexes rather than refinements, so that values.schema.json carries every rule.
 */
const promLabelName = () =>
  z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'is not a Prometheus label name (letters, digits and _, not starting with a digit)', abort: true })
    .regex(/^(?!__)/, { error: 'is not a usable label name: names starting with __ are reserved to Prometheus', abort: true })
    .regex(new RegExp(`^(?!(${RESERVED_SERVER_LABELS.join('|')})$)`), {
      error: `is a label Sightline sets itself (${RESERVED_SERVER_LABELS.join(', ')}): choose another name`,
    });

/** Whether a BMC address is a host name, an IP address, or an http(s) URL of a host with an optional port. */
function isBmcAddress(value: string): boolean {
  if (!/^https?:\/\//.test(value)) return HOST_NAME.test(value) || isIP(value) !== 0;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // The exporter appends the Redfish service root itself: a path, query or credentials in the URL would break it.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return url.pathname === '/' && url.search === '' && url.username === '' && url.hash === '' && (HOST_NAME.test(host) || isIP(host) !== 0);
}

const redfishServerValues = z.strictObject({
  name: labelValue('a server name').describe(
    'Name of the server: the `instance` label of its series and the `server` label of its alerts. Unique across all groups.',
  ),
  bmc: z
    .string()
    .refine(isBmcAddress, { error: 'is not a BMC address: give a host name, an IP address or a URL like https://10.0.0.5:8443', abort: true })
    .superRefine((v, ctx) => {
      // The same BMC written twice must be caught as a duplicate, and `bmc` labels must match across tools.
      if (isIP(v) !== 0) checkCanonicalIp(v, ctx);
    })
    .describe("Address of the server's BMC: host name, IP address, or http(s) URL (host names and IPs are reached over https)."),
  labels: z
    .record(promLabelName(), z.string())
    .default({})
    .describe("Labels of the server's series and alerts: rack, site, model, the Kubernetes node it runs, ..."),
});

const NODE_SELECTOR_NEEDED = 'every group needs the labels of the nodes that can reach its BMCs, e.g. {"sightline.io/bmc-network": "dc1"}';

const redfishGroupValues = z.strictObject({
  name: dnsLabel()
    .refine((v) => v.length <= 55, { error: 'is longer than 55 characters (it names the redfish-<name> objects)' })
    .describe('Name of the group: names its exporter (redfish-<name>), its scrape job and the `group` label.'),
  nodeSelector: z
    .record(k8sLabelKey(), k8sLabelValue(), {
      error: (issue) => `${issue.input === undefined ? 'is given, but' : 'is not a mapping of node labels:'} ${NODE_SELECTOR_NEEDED}`,
    })
    .refine((v) => Object.keys(v).length > 0, { error: `is empty, but ${NODE_SELECTOR_NEEDED}` })
    .describe("Labels of the nodes that can reach the group's BMCs: one exporter runs on each of them."),
  hostNetwork: z
    .boolean()
    .default(false)
    .describe(
      "Run the exporters in the nodes' network namespace, for a management network not routed to pods. Such groups live in a namespace with Pod Security `privileged`.",
    ),
  port: port().default(9096).describe('Port the exporter listens on; hostNetwork groups sharing nodes need distinct ports.'),
  configSecret: z.strictObject({
    name: dnsLabel().describe('Secret created out of band holding the exporter config file (credentials, TLS verification; see README).'),
    key: secretDataKey().default('config.yml').describe('Key of the config file in the Secret.'),
  }),
  scrapeInterval: duration()
    .default('2m')
    .describe(`How often every BMC of the group is walked. Redfish walks are slow. scrapeInterval + scrapeTimeout at most ${LOOKBACK_BUDGET}.`),
  scrapeTimeout: duration().default('90s').describe('How long one walk may take; must be shorter than scrapeInterval.'),
  servers: z.array(redfishServerValues).min(1, { error: 'is empty: a group needs at least one server' }),
});

/** The `redfish` section of the values. */
export const redfishValues = z
  .strictObject({
    namespace: dnsLabel().optional().describe('Namespace of the exporters and of their config Secrets. Default: `<namespace>-hardware`.'),
    resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
    groups: z
      .array(redfishGroupValues)
      .default([])
      .describe('Exporter groups: BMCs reachable from the same nodes with the same credentials. None: no hardware monitoring.'),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    const serverOwners = new Map<string, string>();
    const bmcOwners = new Map<string, string>();
    const hostPorts = new Map<number, string>();
    v.groups.forEach((group, g) => {
      if (seconds(group.scrapeTimeout) >= seconds(group.scrapeInterval)) {
        ctx.addIssue({
          code: 'custom',
          path: ['groups', g, 'scrapeTimeout'],
          input: group.scrapeTimeout,
          message: `is not shorter than redfish.groups[${g}].scrapeInterval (${group.scrapeInterval})`,
        });
      }
      checkLookback(ctx, ['groups', g, 'scrapeInterval'], `redfish.groups[${g}]`, group.scrapeInterval, group.scrapeTimeout);
      if (group.hostNetwork) {
        const other = hostPorts.get(group.port);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', g, 'port'],
            input: group.port,
            message: `is already the port of hostNetwork group "${other}": exporters in the nodes' network namespace on the same node cannot share a port`,
          });
        }
        hostPorts.set(group.port, group.name);
      }
      group.servers.forEach((server, s) => {
        const where = `redfish.groups[${g}].servers[${s}]`;
        const otherServer = serverOwners.get(server.name);
        if (otherServer !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', g, 'servers', s, 'name'],
            input: server.name,
            message: `is already the name of ${otherServer}: server names are unique across all groups`,
          });
        } else serverOwners.set(server.name, where);
        const otherBmc = bmcOwners.get(server.bmc);
        if (otherBmc !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['groups', g, 'servers', s, 'bmc'], input: server.bmc, message: `is already the BMC of ${otherBmc}` });
        } else bmcOwners.set(server.bmc, where);
      });
    });
    const groupNames = v.groups.map((group) => group.name);
    groupNames.forEach((name, g) => {
      if (groupNames.indexOf(name) !== g) {
        ctx.addIssue({
          code: 'custom',
          path: ['groups', g, 'name'],
          input: name,
          message: `is already the name of redfish.groups[${groupNames.indexOf(name)}]`,
        });
      }
    });
  });

import { isIP } from 'node:net';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ApiObject, Chart, Duration, JsonPatch } from 'cdk8s';
import * as z from 'zod';
import { componentDashboard, memoryPanel, upPanel } from './component-dashboard.ts';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ConfigFiles } from './shared/config-file.ts';
import { DATASOURCE_UID, type GrafanaDataSource } from './shared/datasources.ts';
import { Endpoint } from './shared/endpoint.ts';
import { allowIngress, podsOf, recordServicePods } from './shared/network.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import { podScrapeJob, type AlertingRule, type RuleGroup, type ScrapeConfig } from './shared/scrape.ts';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  externalSecret,
  hardenedContainer,
  perPodClaims,
  podSecurity,
  stackService,
  type ContainerResourceValues,
} from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { dnsLabel, duration, quantity, resources, secretDataKey } from './shared/fields.ts';
import { HOST_NAME } from './shared/units.ts';

// ---------------------------------------------------------------------------------------------------------
// alertmanager.yml, as far as Sightline writes it. Keys as upstream names them.
// ---------------------------------------------------------------------------------------------------------

/** `<route>`. @see https://prometheus.io/docs/alerting/0.35/configuration/#route */
export interface AlertmanagerRoute {
  readonly receiver?: string;
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly matchers?: readonly string[];
  readonly continue?: boolean;
  readonly routes?: readonly AlertmanagerRoute[];
}

/** `<inhibit_rule>`. */
export interface AlertmanagerInhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

/**
 * `<receiver>` with the four integrations Sightline renders. Every secret is a `*_file` field: the config
 * (a ConfigMap) names a file mounted from a Secret created out of band, never the secret itself.
 */
export interface AlertmanagerReceiverConfig {
  readonly name: string;
  readonly webhook_configs?: ReadonlyArray<{ readonly url_file: string }>;
  readonly slack_configs?: ReadonlyArray<{ readonly api_url_file: string; readonly channel?: string }>;
  readonly email_configs?: ReadonlyArray<{
    readonly to: string;
    readonly from: string;
    readonly smarthost: string;
    readonly auth_username?: string;
    readonly auth_password_file?: string;
  }>;
  readonly pagerduty_configs?: ReadonlyArray<{ readonly routing_key_file: string }>;
}

/** `alertmanager.yml`. @see https://prometheus.io/docs/alerting/0.35/configuration/ */
export interface AlertmanagerConfig {
  readonly route: AlertmanagerRoute;
  readonly inhibit_rules: readonly AlertmanagerInhibitRule[];
  readonly receivers: readonly AlertmanagerReceiverConfig[];
}

// ---------------------------------------------------------------------------------------------------------
// Props: routing and receivers as values state them.
// ---------------------------------------------------------------------------------------------------------

/** A key of a Secret created out of band. */
export interface SecretKey {
  readonly name: string;
  readonly key: string;
}

/** One receiver: who is notified, through which integrations. Each secret comes from a Secret, as a file. */
export interface AlertmanagerReceiver {
  /** Name routes refer to. */
  readonly name: string;
  /** A webhook whose URL is in a Secret. @default - none */
  readonly webhook?: { readonly urlSecret: SecretKey };
  /** A Slack incoming webhook whose URL is in a Secret. @default - none */
  readonly slack?: { readonly urlSecret: SecretKey; readonly channel?: string };
  /** Mail through an SMTP smarthost, authenticated when a user and password Secret are given. @default - none */
  readonly email?: {
    readonly to: string;
    readonly from: string;
    readonly smarthost: string;
    readonly username?: string;
    readonly passwordSecret?: SecretKey;
  };
  /** A PagerDuty service (Events API v2) whose integration key is in a Secret. @default - none */
  readonly pagerduty?: { readonly routingKeySecret: SecretKey };
}

/** The route tree, as values state it: one default receiver, and receivers per severity. */
export interface AlertmanagerRouting {
  /** Receiver of every alert no severity route takes. */
  readonly receiver: string;
  /** Labels that split alerts into notifications. */
  readonly groupBy: readonly string[];
  /** Wait before a new group's first notification. */
  readonly groupWait: string;
  /** Wait before a changed group is notified again. */
  readonly groupInterval: string;
  /** Wait before an unchanged group is notified again. */
  readonly repeatInterval: string;
  /** Severity → receivers, notified in that order. */
  readonly severities: Readonly<Record<string, readonly string[]>>;
}

/** Properties of {@link Alertmanager}. */
export interface AlertmanagerProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** Pods: 1, or more for a gossip cluster. */
  readonly replicas: number;
  /** Size of each pod's PersistentVolumeClaim at `/alertmanager` (silences, notification log). */
  readonly storage: string;
  /** StorageClass of the claims. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Requests and limits of the Alertmanager container. */
  readonly resources: ContainerResourceValues;
  /** The route tree. */
  readonly route: AlertmanagerRouting;
  /** Who can be notified. */
  readonly receivers: readonly AlertmanagerReceiver[];
}

/** The built-in receiver with no integration: its alerts are listed in Alertmanager and Grafana, nobody is notified. */
export const NOBODY = 'nobody';

/**
 * Labels that identify what an alert is about: a server (hardware), a scrape target (job, instance), a pod or
 * a volume claim, in a namespace of one cluster. A critical alert silences the warnings about the same thing:
 * the disk of a server that reports Critical health need not page twice, but a full claim does not hide a
 * filling one next to it.
 */
export const TARGET_LABELS = ['cluster', 'namespace', 'server', 'job', 'instance', 'pod', 'persistentvolumeclaim'] as const;

/**
 * Alertmanager: routes the alerts Prometheus sends to receivers (webhook, Slack, e-mail, PagerDuty), groups
 * and deduplicates them, and keeps silences. One pod, or a gossip cluster of several: a StatefulSet, so each
 * pod has a stable DNS name its peers find it by and a volume of its own for silences and the notification
 * log, which the peers also replicate to each other.
 *
 * @see https://github.com/prometheus/alertmanager/blob/v0.35.0/README.md#high-availability
 */
export class Alertmanager extends Chart {
  /** Port of the HTTP API and UI. */
  public static readonly PORT = 9093;
  /** Port of the gossip protocol between peers (TCP and UDP). */
  public static readonly CLUSTER_PORT = 9094;
  /** The image's user (`nobody`). */
  private static readonly USER = 65534;
  private static readonly CONFIG_DIR = '/etc/alertmanager';
  private static readonly CONFIG_FILE = 'alertmanager.yml';
  // A sibling of the config folder, not inside it: a mount point nested in a ConfigMap volume is fragile.
  private static readonly SECRETS_DIR = '/etc/alertmanager-secrets';
  private static readonly DATA_DIR = '/alertmanager';
  private static readonly NAME = 'alertmanager';

  /** HTTP API: what Prometheus sends alerts to (every ready pod of it) and Grafana reads. */
  public readonly endpoint: Endpoint;
  /** The gossip port on the headless Service, whose per-pod names the peers dial. */
  public readonly clusterEndpoint: Endpoint;
  /** The StatefulSet running Alertmanager. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The ConfigMap holding `alertmanager.yml`. */
  public readonly config: ConfigFiles;
  /** Pods of the StatefulSet. */
  public readonly replicas: number;

  private readonly identity: ComponentIdentity;
  private readonly secretFiles = new Map<string, string>();

  public constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const name = Alertmanager.NAME;
    this.replicas = props.replicas;
    this.identity = { name, component: 'alerting', version: imageVersion(IMAGES.alertmanager) };
    const labels = recommendedLabels(this.identity);

    // Each pod resolves its peers' names as it starts, before it serves HTTP and so before it is ready: the
    // headless Service publishes pods that are not ready yet, or starting peers would not find each other.
    const headless = new kplus.Service(this, 'ClusterService', {
      metadata: { name: `${name}-cluster`, labels },
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [
        { name: 'gossip-tcp', port: Alertmanager.CLUSTER_PORT, targetPort: Alertmanager.CLUSTER_PORT, protocol: kplus.Protocol.TCP },
        { name: 'gossip-udp', port: Alertmanager.CLUSTER_PORT, targetPort: Alertmanager.CLUSTER_PORT, protocol: kplus.Protocol.UDP },
      ],
    });
    for (const [key, value] of Object.entries(selectorLabels(this.identity))) headless.selectLabel(key, value);
    // kplus builds this Service (a StatefulSet's governing one), not stackService: say which pods it selects.
    recordServicePods(headless, selectorLabels(this.identity));
    this.clusterEndpoint = Endpoint.fromService(headless, Alertmanager.CLUSTER_PORT, { scheme: 'tcp' });

    this.config = new ConfigFiles(this, 'Config', {
      name: `${name}-config`,
      labels,
      files: { [Alertmanager.CONFIG_FILE]: () => this.renderConfig(props) },
    });

    this.statefulSet = new kplus.StatefulSet(this, 'StatefulSet', {
      metadata: { name, labels },
      service: headless,
      replicas: props.replicas,
      select: false,
      podMetadata: { labels },
      // Peers start together: each waits for gossip to settle on its own, none needs the one before it.
      podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
      strategy: kplus.StatefulSetUpdateStrategy.rollingUpdate(),
      automountServiceAccountToken: false,
      securityContext: podSecurity(Alertmanager.USER),
      terminationGracePeriod: Duration.seconds(30),
    });
    this.statefulSet.select(kplus.LabelSelector.of({ labels: selectorLabels(this.identity) }));
    // kplus labels pods with their construct address and makes the governing Service select it; ours are the
    // recommended labels.
    ApiObject.of(this.statefulSet).addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
    ApiObject.of(headless).addJsonPatch(JsonPatch.remove('/spec/selector/cdk8s.io~1metadata.addr'));
    this.statefulSet.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, this.config.checksum);
    if (props.replicas > 1) {
      // Peers gossip with each other on the cluster port, over TCP and UDP.
      for (const protocol of ['TCP', 'UDP'] as const) {
        allowIngress(this, podsOf(this.statefulSet), { port: Alertmanager.CLUSTER_PORT, protocol }, this.statefulSet);
      }
      // Peers on one node (or zone) fall together: spread them, as every replicated workload of the stack is,
      // preferring rather than refusing to schedule.
      const spread = (topologyKey: string) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selectorLabels(this.identity) },
      });
      ApiObject.of(this.statefulSet).addJsonPatch(
        JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [spread('kubernetes.io/hostname'), spread('topology.kubernetes.io/zone')]),
      );
    }

    const container = this.statefulSet.addContainer({
      name,
      ...hardenedContainer({ image: IMAGES.alertmanager, user: Alertmanager.USER, resources: props.resources }),
      // The image's CMD holds the default flags; args replace it, so every flag this pod needs is stated here.
      args: [
        `--config.file=${Alertmanager.CONFIG_DIR}/${Alertmanager.CONFIG_FILE}`,
        `--storage.path=${Alertmanager.DATA_DIR}`,
        `--web.listen-address=:${Alertmanager.PORT}`,
        // Sizes the Go heap to the container's memory limit instead of the node's.
        '--auto-gomemlimit',
        ...this.clusterArgs(props.replicas),
      ],
      envVariables: { POD_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP) },
      ports: [
        { name: 'http', number: Alertmanager.PORT },
        { name: 'gossip-tcp', number: Alertmanager.CLUSTER_PORT },
        { name: 'gossip-udp', number: Alertmanager.CLUSTER_PORT, protocol: kplus.Protocol.UDP },
      ],
      liveness: kplus.Probe.fromHttpGet('/-/healthy', {
        port: Alertmanager.PORT,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(3),
        failureThreshold: 6,
      }),
      readiness: kplus.Probe.fromHttpGet('/-/ready', {
        port: Alertmanager.PORT,
        periodSeconds: Duration.seconds(5),
        timeoutSeconds: Duration.seconds(3),
        failureThreshold: 3,
      }),
    });
    container.mount(Alertmanager.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), {
      readOnly: true,
    });
    this.mountReceiverSecrets(container, props.receivers);
    perPodClaims(this.statefulSet, {
      name: 'data',
      labels,
      storage: props.storage,
      storageClassName: props.storageClassName,
      mountPath: Alertmanager.DATA_DIR,
    });

    const service = stackService(this, 'Service', { name, identity: this.identity, ports: [{ name: 'http', port: Alertmanager.PORT }] });
    this.endpoint = Endpoint.fromService(service, Alertmanager.PORT, { scheme: 'http' });

    if (props.replicas > 1) {
      // One pod at a time may be evicted: the others keep notifying and hold the silences for it.
      new kplus.k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { name, labels },
        spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(this.identity) } },
      });
    }
  }

  /** Grafana's Alertmanager datasource: alerts and silences of this cluster, in Grafana's alerting UI. */
  public get dataSource(): GrafanaDataSource {
    return {
      name: 'Alertmanager',
      uid: DATASOURCE_UID.alertmanager,
      type: 'alertmanager',
      url: this.endpoint.url(),
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
    };
  }

  /** The Alertmanager dashboard (for Grafana, which is created after Alertmanager). */
  public get dashboard(): Dashboard {
    const job = 'job="alertmanager"';
    return componentDashboard({
      uid: 'sightline-alertmanager',
      title: 'Alertmanager',
      description: "Health, notifications, failures and cluster state of the stack's Alertmanagers.",
      health: [
        upPanel('alertmanager', 'Alertmanager'),
        {
          title: 'Cluster members',
          description: 'Peers each pod sees in the gossip cluster (absent with one pod).',
          unit: 'short',
          queries: [{ expr: `alertmanager_cluster_members{${job}}`, legend: '{{pod}}' }],
        },
      ],
      throughput: [
        {
          title: 'Alerts',
          description: 'Alerts each pod holds, by state (active, suppressed, unprocessed).',
          unit: 'short',
          queries: [{ expr: `sum by (pod, state) (alertmanager_alerts{${job}})`, legend: '{{pod}} {{state}}' }],
        },
        {
          title: 'Notifications',
          description: 'Notifications attempted per second, by integration.',
          unit: 'short',
          queries: [{ expr: `sum by (integration) (rate(alertmanager_notifications_total{${job}}[5m]))`, legend: '{{integration}}' }],
        },
      ],
      errors: [
        {
          title: 'Failed notifications',
          description: 'Notifications that failed per second, by integration and reason: alerts that may reach nobody.',
          unit: 'short',
          queries: [
            {
              expr: `sum by (integration, reason) (rate(alertmanager_notifications_failed_total{${job}}[5m]))`,
              legend: '{{integration}} {{reason}}',
            },
          ],
        },
      ],
      saturation: [memoryPanel('alertmanager', 'Alertmanager')],
    });
  }

  /** Prometheus's scrape job of every pod (not the Service, whose pods would answer in turn). */
  public get scrapeJob(): ScrapeConfig {
    return podScrapeJob({ jobName: Alertmanager.NAME, namespace: this.namespace!, selector: selectorLabels(this.identity), portName: 'http' });
  }

  /**
   * Alerts on Alertmanager itself: notifications that fail, and (in a cluster) peers that dropped out of the
   * gossip. Metrics: `alertmanager_notifications_failed_total{integration,reason}` (notify/metrics.go at
   * v0.35.0), `alertmanager_cluster_members` (cluster/delegate.go at v0.35.0).
   */
  public get rules(): RuleGroup {
    const job = `job="${Alertmanager.NAME}"`;
    const rules: AlertingRule[] = [
      {
        alert: 'AlertmanagerNotificationsFailing',
        expr: `sum by (namespace, pod, integration) (rate(alertmanager_notifications_failed_total{${job}}[5m])) > 0`,
        for: '10m',
        labels: { severity: 'critical' },
        annotations: {
          summary: 'Alertmanager {{ $labels.pod }} fails to send {{ $labels.integration }} notifications',
          description:
            "Alertmanager pod {{ $labels.pod }} in {{ $labels.namespace }} has failed to deliver notifications through {{ $labels.integration }} for 10 minutes: alerts may reach nobody. Read the pod's log for the receiver and the error (an expired token or webhook URL in the receiver's Secret, an SMTP server refusing mail, no egress to the service), fix the Secret or the network, and check the Alertmanager UI for what was missed.",
        },
      },
    ];
    if (this.replicas > 1) {
      rules.push({
        alert: 'AlertmanagerClusterMembersMissing',
        expr: `max_over_time(alertmanager_cluster_members{${job}}[5m]) < ${this.replicas}`,
        for: '15m',
        labels: { severity: 'warning' },
        annotations: {
          summary: `Alertmanager {{ $labels.pod }} sees {{ $value }} of ${this.replicas} peers`,
          description: `Alertmanager pod {{ $labels.pod }} in {{ $labels.namespace }} has seen only {{ $value }} of the ${this.replicas} cluster members for 15 minutes. Partitioned peers each notify on their own (duplicate notifications) and do not share silences. Check that every alertmanager pod runs, and that the pods reach each other on port ${Alertmanager.CLUSTER_PORT} TCP and UDP (NetworkPolicies, the alertmanager-cluster Service); the pod log names the peers it cannot reach.`,
        },
      });
    }
    return { name: Alertmanager.NAME, rules };
  }

  /** The rendered `alertmanager.yml` (for tests that run amtool on it). */
  public get configText(): string {
    return this.config.fileText(Alertmanager.CONFIG_FILE);
  }

  private clusterArgs(replicas: number): string[] {
    // One pod has no peer: without a listen address it skips the gossip and its settle wait.
    if (replicas === 1) return ['--cluster.listen-address='];
    return [
      `--cluster.listen-address=0.0.0.0:${Alertmanager.CLUSTER_PORT}`,
      // Pod IPs may lie outside the private ranges memberlist advertises by default (e.g. 100.64.0.0/10);
      // the brackets keep an IPv6 address apart from the port (Go's SplitHostPort takes them for IPv4 too).
      `--cluster.advertise-address=[$(POD_IP)]:${Alertmanager.CLUSTER_PORT}`,
      // Every pod by its stable name: a restarted pod finds its peers whichever of them is up.
      ...Array.from({ length: replicas }, (_, i) => `--cluster.peer=${this.clusterEndpoint.podHostPort(`${Alertmanager.NAME}-${i}`)}`),
      // Gossip from another Alertmanager cluster that shares the network (another namespace) is refused.
      `--cluster.label=${this.namespace}/${Alertmanager.NAME}`,
    ];
  }

  /** Each Secret a receiver reads, mounted read-only in a folder of its own; the config names the files. */
  private mountReceiverSecrets(container: kplus.Container, receivers: readonly AlertmanagerReceiver[]): void {
    const secrets = new Set<string>();
    for (const r of receivers) {
      for (const ref of [r.webhook?.urlSecret, r.slack?.urlSecret, r.email?.passwordSecret, r.pagerduty?.routingKeySecret]) {
        if (ref) secrets.add(ref.name);
      }
    }
    [...secrets].sort().forEach((secretName, i) => {
      const secret = externalSecret(this.statefulSet, secretName);
      const dir = `${Alertmanager.SECRETS_DIR}/${secretName}`;
      // Readable by the pod's group (fsGroup) only: the files are credentials.
      container.mount(dir, kplus.Volume.fromSecret(this, `Secret-${secretName}`, secret, { name: `secret-${i}`, defaultMode: 0o440 }), {
        readOnly: true,
      });
      this.secretFiles.set(secretName, dir);
    });
  }

  private file(ref: SecretKey): string {
    const dir = this.secretFiles.get(ref.name);
    if (dir === undefined) throw new Error(`Secret ${ref.name} is not mounted`);
    return `${dir}/${ref.key}`;
  }

  private renderConfig(props: AlertmanagerProps): AlertmanagerConfig {
    return {
      route: alertmanagerRoute(props.route),
      inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: [...TARGET_LABELS] }],
      receivers: [{ name: NOBODY }, ...props.receivers.map((r) => this.receiverConfig(r))],
    };
  }

  private receiverConfig(r: AlertmanagerReceiver): AlertmanagerReceiverConfig {
    return {
      name: r.name,
      webhook_configs: r.webhook && [{ url_file: this.file(r.webhook.urlSecret) }],
      slack_configs: r.slack && [{ api_url_file: this.file(r.slack.urlSecret), channel: r.slack.channel }],
      email_configs: r.email && [
        {
          to: r.email.to,
          from: r.email.from,
          smarthost: r.email.smarthost,
          auth_username: r.email.username,
          auth_password_file: r.email.passwordSecret && this.file(r.email.passwordSecret),
        },
      ],
      pagerduty_configs: r.pagerduty && [{ routing_key_file: this.file(r.pagerduty.routingKeySecret) }],
    };
  }
}

/**
 * The route tree of the values: at the root the default receiver and the grouping; below it one route per
 * severity and receiver, in the order given. Every route of a severity but its last continues, so each listed
 * receiver is notified; the last one stops the alert there, away from the default receiver.
 */
export function alertmanagerRoute(routing: AlertmanagerRouting): AlertmanagerRoute {
  const routes = Object.entries(routing.severities).flatMap(([severity, receivers]) =>
    receivers.map(
      (receiver, i): AlertmanagerRoute => ({
        receiver,
        matchers: [`severity="${severity}"`],
        continue: i < receivers.length - 1 ? true : undefined,
      }),
    ),
  );
  return {
    receiver: routing.receiver,
    group_by: routing.groupBy,
    group_wait: routing.groupWait,
    group_interval: routing.groupInterval,
    repeat_interval: routing.repeatInterval,
    routes: routes.length > 0 ? routes : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Values: who is told about an alert, and how.
// ---------------------------------------------------------------------------------------------------------

/** A key of an out-of-band Secret whose content is a notifier's secret (a URL, a key, a password). */
const notifierSecret = (what: string) =>
  z.strictObject({
    name: dnsLabel().describe(`Secret created out of band holding ${what}; mounted read-only as a file, never rendered.`),
    key: secretDataKey().describe('Key of that value in the Secret.'),
  });

/** A `host:port` Alertmanager can dial (the SMTP smarthost). */
const hostPort = () =>
  z.string().refine(
    (v) => {
      const m = /^(.+):(\d{1,5})$/.exec(v);
      if (!m) return false;
      const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
      return Number(m[2]) >= 1 && Number(m[2]) <= 65535 && (HOST_NAME.test(host) || isIP(host) !== 0);
    },
    { error: 'is not a host:port like smtp.example.com:587' },
  );

/** An e-mail address, as far as a values file can be checked without sending mail. */
const emailAddress = () => z.string().regex(/^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/, { error: 'is not an e-mail address like oncall@example.com' });

const alertmanagerReceiver = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { error: 'is not a receiver name (lower-case letters, digits and -)' })
      .refine((v) => v !== NOBODY, { error: `is reserved for the built-in receiver that notifies no one` })
      .describe('Name the route refers to.'),
    webhook: z
      .strictObject({
        urlSecret: notifierSecret('the webhook URL (webhook_configs[].url_file)'),
      })
      .optional()
      .describe('POSTs the alert group as JSON to a URL read from a Secret.'),
    slack: z
      .strictObject({
        urlSecret: notifierSecret('the Slack incoming-webhook URL (slack_configs[].api_url_file)'),
        channel: z
          .string()
          .regex(/^[#@]?[\w.-]+$/, { error: 'is not a Slack channel like #alerts' })
          .optional()
          .describe('Channel to post to. Default: the one the incoming webhook was created for.'),
      })
      .optional(),
    email: z
      .strictObject({
        to: emailAddress().describe('Recipient.'),
        from: emailAddress().describe('Sender address.'),
        smarthost: hostPort().describe("SMTP server as host:port; STARTTLS is required (Alertmanager's require_tls default)."),
        username: z.string().min(1).optional().describe('SMTP user name. Default: no authentication.'),
        passwordSecret: notifierSecret('the SMTP password (email_configs[].auth_password_file)').optional(),
      })
      .superRefine((v, ctx) => {
        if (v.username !== undefined && v.passwordSecret === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['passwordSecret'],
            input: undefined,
            message: `is given, but username ${JSON.stringify(v.username)} needs a password Secret (drop username to send without authentication)`,
          });
        }
        if (v.username === undefined && v.passwordSecret !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['username'],
            input: undefined,
            message: 'is given, but passwordSecret needs the user name it authenticates',
          });
        }
      })
      .optional(),
    pagerduty: z
      .strictObject({
        routingKeySecret: notifierSecret('the PagerDuty Events API v2 integration key (pagerduty_configs[].routing_key_file)'),
      })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.webhook && !v.slack && !v.email && !v.pagerduty) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        input: v.name,
        message: 'is a receiver without a way to notify: give webhook, slack, email or pagerduty',
      });
    }
  });

const receiverRef = () =>
  z.string().min(1, { error: 'is not a receiver name' }).describe(`Name of a receiver of alertmanager.receivers, or "${NOBODY}".`);

/** The `alertmanager` section of the values. */
export const alertmanagerValues = z
  .strictObject({
    replicas: z
      .int({ error: 'is not a replica count (a whole number from 1)' })
      .min(1, { error: 'is not a replica count: alerts need at least 1 Alertmanager' })
      .default(1)
      .describe(
        'Pods of the StatefulSet. More than 1 forms a gossip cluster that shares silences and notification logs, so each alert is still notified once; 3 survive a lost pod during a node drain.',
      ),
    storage: quantity()
      .default('1Gi')
      .describe(
        "Size of each pod's PersistentVolumeClaim at /alertmanager (silences and the notification log). A StatefulSet's claim template cannot change: to grow it later, resize each claim, then recreate the StatefulSet with kubectl delete --cascade=orphan.",
      ),
    resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
    route: z
      .strictObject({
        receiver: receiverRef().default(NOBODY).describe('Receiver of alerts no severity route takes.'),
        groupBy: z
          .array(promLabelNameAny())
          .min(1, { error: 'is empty: group at least by alertname' })
          .default(['alertname', 'cluster', 'namespace', 'server'])
          .describe('Labels whose values split alerts into notifications (route.group_by).'),
        groupWait: duration().default('30s').describe('How long a new group waits for more alerts before its first notification (route.group_wait).'),
        groupInterval: duration().default('5m').describe('How long before a group that changed is notified again (route.group_interval).'),
        repeatInterval: duration().default('4h').describe('How long before a group that did not change is notified again (route.repeat_interval).'),
        severities: z
          .record(
            z.string().regex(/^[a-z]+$/, { error: 'is not a severity like critical or warning' }),
            z.array(receiverRef()).min(1, { error: 'is empty: list the receivers of this severity' }),
          )
          .default({})
          .describe('Severity → receivers: an alert whose severity label matches goes to each of them, in order.'),
      })
      .prefault({}),
    receivers: z.array(alertmanagerReceiver).default([]).describe('Who can be notified. Their secrets come only from Secrets created out of band.'),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    const names = new Map<string, number>();
    v.receivers.forEach((r, i) => {
      const seen = names.get(r.name);
      if (seen === undefined) names.set(r.name, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['receivers', i, 'name'],
          input: r.name,
          message: `is already the name of alertmanager.receivers[${seen}]`,
        });
    });
    const known = (name: string) => name === NOBODY || names.has(name);
    const allowed = `is not a receiver of alertmanager.receivers (${[...names.keys(), NOBODY].join(', ')})`;
    if (!known(v.route.receiver)) ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], input: v.route.receiver, message: allowed });
    for (const [severity, receivers] of Object.entries(v.route.severities)) {
      receivers.forEach((name, i) => {
        if (!known(name)) ctx.addIssue({ code: 'custom', path: ['route', 'severities', severity, i], input: name, message: allowed });
      });
    }
  });

/** Any Prometheus label name a route may group by (Sightline's own labels included). */
function promLabelNameAny() {
  return z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'is not a Prometheus label name (letters, digits and _, not starting with a digit)' });
}

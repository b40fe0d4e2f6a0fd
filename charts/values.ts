/**
 * The values a platform team edits: one typed model, its defaults, its validation and (generated from the
 * same schema) the JSON Schema editors use. `main.ts` validates the user's file against it once and cuts the
 * result into per-component props; no chart ever sees this whole object.
 *
 * Validation messages name the field path, the value received and what is allowed.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { describeIssue, ValuesError } from './shared/messages.ts';
import {
  byteSize,
  canonicalIp,
  checkCanonicalIp,
  checkLookback,
  cidr,
  dnsLabel,
  duration,
  k8sLabelKey,
  k8sLabelValue,
  labelValue,
  LOOKBACK_BUDGET,
  port,
  quantity,
  resources,
  secretDataKey,
  secretKeyRef,
  singleReplica,
  startupTimeout,
} from './shared/fields.ts';
import { bytes, HOST_NAME, isGitRevision, seconds } from './shared/units.ts';
import { OTEL_COLLECTOR_OWN_PORTS } from './otel-collector.ts';
import { REDFISH_RESERVED_LABELS } from './redfish.ts';
import { DEMO_IMAGE } from './versions.ts';

// Field types and unit parsing live in shared/fields.ts and shared/units.ts, messages in shared/messages.ts;
// re-exported here for the callers that take everything about values from this module.
export { ValuesError } from './shared/messages.ts';
export { canonicalIpText, isGitRevision, MAX_DURATION, seconds } from './shared/units.ts';

// ---------------------------------------------------------------------------------------------------------
// Sections, one per component.
// ---------------------------------------------------------------------------------------------------------

const prometheus = z
  .strictObject({
    retention: duration().default('15d').describe('How long samples are kept (storage.tsdb.retention.time).'),
    retentionSize: byteSize().default('8GB').describe('Disk budget of the TSDB blocks (storage.tsdb.retention.size); keep it below `storage`.'),
    storage: quantity().default('10Gi').describe('Size of the PersistentVolumeClaim mounted at /prometheus.'),
    scrapeInterval: duration().default('30s').describe('Default scrape interval (global.scrape_interval).'),
    scrapeTimeout: duration().default('10s').describe('Default scrape timeout (global.scrape_timeout); must not exceed scrapeInterval.'),
    evaluationInterval: duration().default('30s').describe('How often rules are evaluated (global.evaluation_interval).'),
    startupTimeout: startupTimeout('10m', 'Prometheus replays its write-ahead log (minutes for a large TSDB)'),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } }),
  })
  .prefault({});

const grafana = z
  .strictObject({
    adminSecret: z
      .strictObject({
        name: dnsLabel().default('grafana-admin').describe('Secret created out of band holding the admin credentials (see README).'),
        userKey: secretDataKey().default('admin-user'),
        passwordKey: secretDataKey().default('admin-password'),
      })
      .prefault({}),
    secretKeySecret: secretKeyRef({ name: 'grafana-secret-key', key: 'secret-key' }).describe(
      'Secret created out of band holding `security.secret_key`, which encrypts the secrets Grafana stores in its database (see README).',
    ),
    startupTimeout: startupTimeout('10m', 'Grafana migrates its database (long after an upgrade of a large database)'),
    storage: quantity().default('1Gi').describe('Size of the PersistentVolumeClaim mounted at /var/lib/grafana.'),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }),
  })
  .prefault({});

const tempo = z
  .strictObject({
    blockRetention: duration()
      .default('24h')
      .describe('How long traces are kept (backend_worker.compaction.block_retention; compactor.compaction.block_retention in Tempo 2.x).'),
    compactedBlockRetention: duration()
      .default('1h')
      .describe('How long a block replaced by compaction is kept for queries in flight (backend_worker.compaction.compacted_block_retention).'),
    maxBlockBytes: z
      .int({ error: 'is not a number of bytes (a whole number)' })
      .min(1, { error: 'must be a positive number of bytes' })
      .optional()
      .describe(
        "Size at which the live-store cuts its head block (live_store.max_block_bytes; ingester.max_block_bytes in Tempo 2.x). Default: Tempo's own (50 MiB); a small value cuts many small backend blocks.",
      ),
    maxBlockDuration: duration()
      .default('5m')
      .describe('Age at which the live-store cuts its head block (live_store.max_block_duration; ingester.max_block_duration in Tempo 2.x).'),
    searchDurationSlo: duration()
      .default('5s')
      .describe('Searches faster than this count as within SLO in the query-frontend metrics (query_frontend.search.duration_slo).'),
    storage: quantity().default('10Gi').describe('Size of the PersistentVolumeClaim mounted at /var/tempo (WAL, blocks, generator WAL).'),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } }),
  })
  .prefault({});

const otelCollector = z
  .strictObject({
    otlpGrpcPort: port().default(4317).describe('Port of the OTLP/gRPC receiver, on the pod and the otel-collector Service.'),
    otlpHttpPort: port().default(4318).describe('Port of the OTLP/HTTP receiver, on the pod and the otel-collector Service.'),
    replicas: z
      .int({ error: 'is not a replica count (a whole number from 1)' })
      .min(1, { error: 'is not a replica count: the gateway needs at least 1 pod' })
      .default(1)
      .describe('Pods of the stateless gateway Deployment.'),
    resources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }).describe(
      'Container resources; the memory limiter keeps the collector below a share of limits.memory.',
    ),
  })
  .superRefine((v, ctx) => {
    // Every port the collector pod listens on must be distinct, or one receiver fails to bind at startup.
    const taken = new Map<number, string>(Object.entries(OTEL_COLLECTOR_OWN_PORTS).map(([name, p]) => [p, `the collector's ${name} port`]));
    for (const key of ['otlpGrpcPort', 'otlpHttpPort'] as const) {
      const holder = taken.get(v[key]);
      if (holder === undefined) taken.set(v[key], `otelCollector.${key}`);
      else
        ctx.addIssue({ code: 'custom', path: [key], input: v[key], message: `is already taken by ${holder}; each receiver needs a port of its own` });
    }
  })
  .prefault({});

const helloApp = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Whether the demo service (hello-app calling hello-backend) is rendered.'),
    image: z
      .strictObject({
        repository: z
          .string()
          .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, {
            error: 'is not an image repository like registry.example.com/team/hello-app',
          })
          .default(DEMO_IMAGE.repository)
          .describe('Where you pushed or loaded the image built from services/hello-app.'),
        tag: z
          .string()
          .regex(/^\w[\w.-]{0,127}$/, { error: 'is not an image tag', abort: true })
          .refine((t) => t !== 'latest', { error: 'is not a pinned tag: "latest" moves under a running Deployment' })
          .default(DEMO_IMAGE.tag),
      })
      .prefault({}),
    replicas: z
      .int({ error: 'is not a replica count (a whole number)' })
      .min(0, { error: 'is not a replica count: use 0 or more' })
      .default(1)
      .describe('Pods per role (hello-app and hello-backend).'),
    resources: resources({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
  })
  .prefault({});

const loki = z
  .strictObject({
    retention: duration()
      .refine((v) => seconds(v) >= 86400, { error: "is shorter than 24h, the least retention Loki's compactor applies" })
      .default('7d')
      .describe('How long logs are kept (limits_config.retention_period), enforced by the compactor; at least 24h.'),
    storage: quantity().default('10Gi').describe('Size of the PersistentVolumeClaim mounted at /var/loki (chunks, index, WAL).'),
    deletionMode: z
      .enum(['disabled', 'filter-only', 'filter-and-delete'])
      .default('disabled')
      .describe("Log deletion API (limits_config.deletion_mode). disabled: nobody can delete logs through Loki's API; retention still applies."),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } }),
  })
  .prefault({});

const promtail = z
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

const syslogFormat = z.enum(['rfc5424', 'rfc3164']);

const syslogDevice = z.strictObject({
  address: canonicalIp().describe('Source address the device sends from, as the receiver sees it (IPv6 in its short, lower-case form, RFC 5952).'),
  name: labelValue('a device name').describe('Becomes the `device` label.'),
  site: labelValue('a site name').optional().describe('Becomes the `site` label.'),
  role: labelValue('a role').optional().describe('Becomes the `role` label, e.g. core-switch, firewall.'),
});

const syslog = z
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
        format: syslogFormat.default('rfc5424').describe('Message format on TCP; octet-counting and newline framing are both detected.'),
      })
      .prefault({}),
    udp: z
      .strictObject({
        port: port().default(514).describe('Service port of the UDP listener.'),
        format: syslogFormat.default('rfc3164').describe('Message format on UDP; rfc3164 is what most network gear sends.'),
      })
      .prefault({}),
    useIncomingTimestamp: z
      .boolean()
      .default(false)
      .describe("Use the device's timestamp instead of the receive time (device clocks drift: keep false unless they run NTP)."),
    devices: z.array(syslogDevice).default([]).describe('Device inventory: messages from an address get its name, site and role as labels.'),
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

const redfishServer = z.strictObject({
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

const redfishGroup = z.strictObject({
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
  servers: z.array(redfishServer).min(1, { error: 'is empty: a group needs at least one server' }),
});

const redfish = z
  .strictObject({
    namespace: dnsLabel().optional().describe('Namespace of the exporters and of their config Secrets. Default: `<namespace>-hardware`.'),
    resources: resources({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
    groups: z
      .array(redfishGroup)
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

const logs = z
  .strictObject({
    agent: z
      .enum(['promtail', 'alloy'])
      .default('promtail')
      .describe(
        'The log agent on every node and in the syslog receiver: promtail (end of life since 2026-03-02), or its successor Grafana Alloy. The promtail.* and syslog.* settings apply to either.',
      ),
    rolloutNodeLabel: k8sLabelKey()
      .optional()
      .describe(
        'Switch agents node by node: both agents render, and nodes labelled <rolloutNodeLabel>=<the agent not chosen by logs.agent> run that agent, every other node the chosen one. Default: none (the chosen agent on every node).',
      ),
    alloy: z
      .strictObject({
        resources: resources({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } }).describe(
          "Requests and limits of each node's Alloy container (with agent: alloy); the syslog receiver takes syslog.resources.",
        ),
      })
      .prefault({}),
  })
  .prefault({});
// ---------------------------------------------------------------------------------------------------------
// Alertmanager: who is told about an alert, and how. (Kept apart from the other sections to ease merges.)
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
      .refine((v) => v !== ALERTMANAGER_NOBODY, { error: `is reserved for the built-in receiver that notifies no one` })
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

/** The built-in receiver with no integration: alerts it gets are shown in Alertmanager and Grafana, nobody is notified. */
export const ALERTMANAGER_NOBODY = 'nobody';

const receiverRef = () =>
  z.string().min(1, { error: 'is not a receiver name' }).describe(`Name of a receiver of alertmanager.receivers, or "${ALERTMANAGER_NOBODY}".`);

const alertmanager = z
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
        receiver: receiverRef().default(ALERTMANAGER_NOBODY).describe('Receiver of alerts no severity route takes.'),
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
    const known = (name: string) => name === ALERTMANAGER_NOBODY || names.has(name);
    const allowed = `is not a receiver of alertmanager.receivers (${[...names.keys(), ALERTMANAGER_NOBODY].join(', ')})`;
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

/** A Git repository URL as Argo CD takes it: https, ssh, or the scp-like `git@host:path`. */
const gitRepositoryUrl = () =>
  z.string().regex(/^((https?|ssh|git):\/\/[^\s/]+\/\S+|[\w.-]+@[\w.-]+:\S+)$/, {
    error: 'is not a Git repository URL (https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git)',
  });

/** A folder inside the repository: relative, `/`-separated, never climbing out with `..`. */
const repositoryFolder = () =>
  z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\s\\]+$/, { error: 'is not a folder relative to the repository root (like dist or rendered/production)' });

/**
 * The optional GitOps output: an Argo CD `Application` syncing the rendered folder and the `AppProject` that
 * confines it to what the stack renders. Absent (the default), nothing of Argo CD is rendered.
 */
const argocd = z.strictObject({
  repoURL: gitRepositoryUrl().describe(
    'Repository Argo CD pulls the rendered manifests from (spec.source.repoURL); the AppProject allows only this one.',
  ),
  targetRevision: z
    .string()
    .refine(isGitRevision, {
      error:
        'is not a Git revision: a branch or tag name as git check-ref-format allows it (no spaces, ~, ^, :, ?, *, [, \\, "..", "@{", no component starting with . or ending in .lock), a commit SHA, or HEAD',
    })
    .default('HEAD')
    .describe('Branch, tag or commit to sync (spec.source.targetRevision).'),
  path: repositoryFolder()
    .optional()
    .describe(
      'Folder of the rendered stack in that repository (spec.source.path). Default: the output folder of the render, relative to the repository root (dist for `npm run synth`).',
    ),
  destination: z
    .strictObject({
      server: z
        .string()
        .regex(/^https:\/\/\S+$/, { error: 'is not an API server URL like https://kubernetes.default.svc' })
        .default('https://kubernetes.default.svc')
        .describe('API server of the cluster the stack goes to; the default is the cluster Argo CD runs in.'),
      namespace: dnsLabel().optional().describe('Namespace for objects that name none (spec.destination.namespace). Default: the stack namespace.'),
    })
    .prefault({}),
  project: dnsLabel()
    .default('sightline')
    .describe('Name of the AppProject, which allows exactly the kinds and namespaces the stack renders; the Application has the same name.'),
  namespace: dnsLabel().default('argocd').describe('Namespace Argo CD runs in, where the Application and AppProject live.'),
  automated: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Sync every new commit without a click (spec.syncPolicy.automated.enabled).'),
      prune: z.boolean().default(true).describe('Delete objects that left the rendered folder (spec.syncPolicy.automated.prune).'),
      selfHeal: z.boolean().default(true).describe('Undo changes made in the cluster by hand (spec.syncPolicy.automated.selfHeal).'),
    })
    .prefault({}),
});

/**
 * The stack's NetworkPolicies: all ingress denied in every namespace of the stack, then the paths the stack
 * wires, plus the two openings for what lives outside it.
 */
const networkPolicy = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Render the NetworkPolicies (they take effect only with a CNI plugin that enforces them).'),
    ingressNamespace: dnsLabel()
      .default('ingress-nginx')
      .describe('Namespace of the ingress controller: the only one (besides Prometheus) whose pods may reach Grafana.'),
    otlpNamespaceSelector: z
      .record(k8sLabelKey(), k8sLabelValue())
      .default({})
      .describe('Labels of the namespaces whose pods may send OTLP to the collector. Empty: every namespace.'),
    egress: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Also restrict egress: every pod may resolve names and reach what the stack wires it to, the pods that call the API server reach it, and nothing else.',
          ),
        dns: z
          .strictObject({
            namespace: dnsLabel().default('kube-system').describe('Namespace of the cluster DNS pods.'),
            podLabels: z
              .record(k8sLabelKey(), k8sLabelValue())
              .default({ 'k8s-app': 'kube-dns' })
              .describe('Labels of the cluster DNS pods (CoreDNS keeps k8s-app: kube-dns).'),
          })
          .prefault({}),
        apiServer: z
          .strictObject({
            cidrs: z
              .array(cidr())
              .default([])
              .describe(
                'Addresses of the API server as pods reach it: `kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`. Required with egress.',
              ),
            ports: z
              .array(port())
              .min(1, { error: 'is empty: the API server listens on at least one port' })
              .default([443, 6443])
              .describe(
                "Its ports after the kubernetes Service's translation: the endpoints' port (6443 on most clusters, 443 on some managed ones).",
              ),
          })
          .prefault({}),
      })
      .prefault({})
      .superRefine((v, ctx) => {
        if (v.enabled && v.apiServer.cidrs.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['apiServer', 'cidrs'],
            input: v.apiServer.cidrs,
            message:
              "is empty, but restricted egress needs the API server's addresses (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)",
          });
        }
      }),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    if (v.egress.enabled && !v.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['egress', 'enabled'],
        input: true,
        message: 'is set, but networkPolicy.enabled is false, which renders no policy at all',
      });
    }
  });

/**
 * Scheduling priority: the node agents run as `system-node-critical`, and the stores get a PriorityClass of
 * the stack's, so that under pressure other pods are evicted or kept pending before them.
 */
const priority = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Set priorityClassName on the node agents and the stores, and render the stores' PriorityClass."),
    storeValue: z
      .int({ error: 'is not a priority (a whole number)' })
      .min(1, { error: 'is not above 0, the priority of pods without a class' })
      .max(1_000_000_000, { error: 'is above 1000000000: larger values are reserved for system-cluster-critical and system-node-critical' })
      .default(1_000_000)
      .describe("Priority of the stores' class (<namespace>-stores)."),
  })
  .prefault({});

/** The whole values model. */
export const valuesSchema = z
  .strictObject({
    namespace: dnsLabel().default('sightline').describe('Namespace of the stack (Pod Security `restricted`).'),
    clusterName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'is not a cluster name (letters, digits, ., _ and -)' })
      .default('dev')
      .describe('Name of the cluster, attached as the `cluster` label to everything leaving it.'),
    storageClassName: dnsLabel().optional().describe('StorageClass of every PersistentVolumeClaim. Default: the cluster default class.'),
    prometheus,
    grafana,
    redfish,
    loki,
    logs,
    promtail,
    syslog,
    tempo,
    otelCollector,
    helloApp,
    networkPolicy,
    priority,
    alertmanager,
    argocd: argocd.optional().describe('Renders an Argo CD Application and AppProject next to the output folder (<out>-argocd/). Default: none.'),
  })
  .superRefine((v, ctx) => {
    if (v.promtail.namespace === v.namespace) {
      ctx.addIssue({
        code: 'custom',
        path: ['promtail', 'namespace'],
        input: v.promtail.namespace,
        message: "is the stack's own namespace, whose Pod Security level (restricted) forbids the host paths node agents read: use another",
      });
    }
    if (seconds(v.prometheus.scrapeTimeout) > seconds(v.prometheus.scrapeInterval)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prometheus', 'scrapeTimeout'],
        input: v.prometheus.scrapeTimeout,
        message: `is longer than prometheus.scrapeInterval (${v.prometheus.scrapeInterval})`,
      });
    }
    checkLookback(ctx, ['prometheus', 'scrapeInterval'], 'prometheus', v.prometheus.scrapeInterval, v.prometheus.scrapeTimeout);
    // Size-based retention only protects the volume if it triggers before the volume is full.
    if (bytes(v.prometheus.retentionSize) >= bytes(v.prometheus.storage)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prometheus', 'retentionSize'],
        input: v.prometheus.retentionSize,
        message: `must be smaller than prometheus.storage (${v.prometheus.storage}), or the volume fills up before retention deletes anything`,
      });
    }
    if (v.redfish.groups.length > 0) {
      const hardware = hardwareNamespace(v);
      if (hardware === v.namespace) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message: "is the stack's namespace: the exporters need one of their own (it holds BMC credentials, and admits hostNetwork pods)",
        });
      } else if (hardware === v.promtail.namespace) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message:
            "is the node agents' namespace (promtail.namespace): the exporters need one of their own, so that access to the BMC credentials is granted apart",
        });
      } else if (hardware.length > 63) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message: `is not given, and the default ${hardware} is longer than 63 characters: name the exporters' namespace`,
        });
      }
    }
  });

/** Validated values, every default applied. */
export type Values = z.output<typeof valuesSchema>;
/** The `argocd` section, when present. */
export type ArgoCdValues = NonNullable<Values['argocd']>;
/** What a user may write in a values file. */
export type ValuesInput = z.input<typeof valuesSchema>;

// ---------------------------------------------------------------------------------------------------------
// Parsing and messages.
// ---------------------------------------------------------------------------------------------------------

/**
 * Validates raw values (parsed YAML, or `undefined` for none) and applies defaults.
 *
 * @param source how to name the input in the error, e.g. the file path
 * @throws ValuesError listing every problem found
 */
export function parseValues(raw: unknown, source = 'values'): Values {
  // Without `jitless`, zod compiles a validator for each object schema (with `new Function`) on its first
  // parse, which pays off only over many parses: a synth parses once, and compiling took more time than
  // parsing (about 14 ms of 20 for the defaults). The result and the issues are the same either way.
  const result = valuesSchema.safeParse(raw ?? {}, { reportInput: true, jitless: true });
  if (result.success) return result.data;
  throw new ValuesError(
    source,
    result.error.issues.map((issue) => describeIssue(issue, valuesSchema)),
  );
}

/** Namespace of the hardware exporters: `redfish.namespace`, by default the stack's namespace + `-hardware`. */
export function hardwareNamespace(values: { readonly namespace: string; readonly redfish: { readonly namespace?: string | undefined } }): string {
  return values.redfish.namespace ?? `${values.namespace}-hardware`;
}

/** JSON Schema of a values file, for editors (`# yaml-language-server: $schema=...`). */
export function valuesJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(valuesSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

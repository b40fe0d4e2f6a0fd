/**
 * Promtail's configuration file, as far as Sightline writes it, typed with upstream's key names so that a
 * misspelt key does not compile (Promtail refuses to start on an unknown key, and silently ignores a
 * misspelt pipeline-stage key). Two charts run Promtail, the node DaemonSet and the syslog receiver; both
 * build their `promtail.yaml` and their container from here.
 *
 * @see https://github.com/grafana/loki/blob/v3.6.11/docs/sources/send-data/promtail/configuration.md
 */
import type * as kplus from 'cdk8s-plus-28';
import { prometheusClientAuth } from './backend.ts';
import type { SignalTarget } from './signal-target.ts';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { componentDashboard, memoryPanel, upPanel } from '../component-dashboard.ts';
import { agentReadiness } from './node-logs.ts';
import { alertingRule, type KubernetesSdConfig, type RelabelConfig, type RuleGroup } from './scrape.ts';

/** `promtail.yaml`. */
export interface PromtailConfig {
  readonly server: { readonly http_listen_port: number };
  readonly positions: { readonly filename: string };
  readonly clients: readonly PromtailClientConfig[];
  readonly scrape_configs: readonly PromtailScrapeConfig[];
}

/** `<client_config>`: where Promtail pushes. */
export interface PromtailClientConfig {
  readonly url: string;
  /** Sent as `X-Scope-OrgID`; Promtail sets that header itself, so `headers` cannot. */
  readonly tenant_id?: string;
  readonly basic_auth?: { readonly username: string; readonly password_file: string };
  readonly authorization?: { readonly type: 'Bearer'; readonly credentials_file: string };
  readonly external_labels?: Readonly<Record<string, string>>;
}

/** `<scrape_config>`: one source of log lines and how its entries are labelled. */
export interface PromtailScrapeConfig {
  readonly job_name: string;
  readonly pipeline_stages?: readonly PipelineStage[];
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly journal?: JournalTargetConfig;
  readonly syslog?: SyslogTargetConfig;
  readonly relabel_configs?: readonly RelabelConfig[];
}

/** The pipeline stages Sightline uses. */
export type PipelineStage = { readonly cri: Readonly<Record<string, never>> } | { readonly labeldrop: readonly string[] };

/** `<journal_config>`: reads the systemd journal. */
export interface JournalTargetConfig {
  readonly labels?: Readonly<Record<string, string>>;
}

/** `<syslog_config>`: one syslog listener (one protocol per listener). */
export interface SyslogTargetConfig {
  readonly listen_address: string;
  readonly listen_protocol: 'tcp' | 'udp';
  readonly syslog_format: 'rfc5424' | 'rfc3164';
  readonly labels?: Readonly<Record<string, string>>;
  readonly use_incoming_timestamp: boolean;
}

/** Port of Promtail's HTTP server (`/metrics`, `/ready`). Upstream's default, 80, needs root to bind. */
export const PROMTAIL_HTTP_PORT = 3101;
/** Name of the container port serving `/metrics`, which the scrape jobs select. */
export const PROMTAIL_METRICS_PORT_NAME = 'http-metrics';
const CONFIG_DIR = '/etc/promtail';

/** A Promtail configuration pushing every entry to `push`, labelled with the cluster it comes from. */
export function promtailConfig(props: {
  /** Where Promtail records how far it has read each source. */
  readonly positionsFile: string;
  /** Loki's push API. */
  readonly push: SignalTarget;
  /** Value of the `cluster` label on every entry. */
  readonly clusterName: string;
  readonly scrapeConfigs: readonly PromtailScrapeConfig[];
}): PromtailConfig {
  return {
    server: { http_listen_port: PROMTAIL_HTTP_PORT },
    positions: { filename: props.positionsFile },
    clients: [{ url: props.push.address, ...clientAuth(props.push), external_labels: { cluster: props.clusterName } }],
    scrape_configs: props.scrapeConfigs,
  };
}

/**
 * The tenant and credentials of an external Loki in a client config: prometheus/common's `basic_auth` and
 * `authorization` (Promtail's clients embed its HTTP client config), and the tenant as `tenant_id`.
 */
function clientAuth(push: SignalTarget): Pick<PromtailClientConfig, 'tenant_id' | 'basic_auth' | 'authorization'> {
  if (!push.backend) return {};
  // The tenant header that prometheusClientAuth adds would be overwritten by Promtail: tenant_id says it instead.
  const { headers: _tenantHeader, ...auth } = prometheusClientAuth(push.backend, push.credentialFiles);
  return { tenant_id: push.backend.tenant, ...auth };
}

/**
 * The parts of a Promtail container both charts share: its config file, metrics port and readiness probe.
 * `/ready` answers once one source is being read. No liveness probe: Promtail serves no other health
 * endpoint, and restarting a Promtail that has nothing to read would not give it anything.
 */
export function promtailContainer(): Pick<kplus.ContainerProps, 'name' | 'args' | 'ports' | 'readiness'> {
  return {
    name: 'promtail',
    args: [`-config.file=${CONFIG_DIR}/promtail.yaml`],
    ports: [{ name: PROMTAIL_METRICS_PORT_NAME, number: PROMTAIL_HTTP_PORT }],
    readiness: agentReadiness('/ready', PROMTAIL_HTTP_PORT),
  };
}

/** Mounts the ConfigMap holding `promtail.yaml` where {@link promtailContainer} reads it. */
export function mountPromtailConfig(container: kplus.Container, volume: kplus.Volume): void {
  container.mount(CONFIG_DIR, volume, { readOnly: true });
}

/**
 * Alerts on a Promtail that pushes to Loki (the node agents, the syslog receiver). Metrics (Promtail 3.6.11,
 * clients/pkg/promtail/client/client.go): `promtail_dropped_entries_total` with `reason`, and
 * `promtail_request_duration_seconds` with `status_code` (the HTTP status of each push).
 *
 * @param props.alertPrefix starts every alert name, e.g. `Promtail`
 * @param props.what how the description names the pods, e.g. `The Promtail agent`
 */
export function promtailRules(props: {
  readonly group: string;
  readonly job: string;
  readonly alertPrefix: string;
  readonly what: string;
}): RuleGroup {
  const job = `job="${props.job}"`;
  return {
    name: props.group,
    rules: [
      alertingRule({
        alert: `${props.alertPrefix}DroppingEntries`,
        expr: `sum by (namespace, pod, reason) (rate(promtail_dropped_entries_total{${job}}[5m])) > 0`,
        for: '5m',
        severity: 'warning',
        summary: `${props.what} {{ $labels.pod }} drops log lines: {{ $labels.reason }}`,
        description: `${props.what} {{ $labels.pod }} in {{ $labels.namespace }} has dropped log lines for 5 minutes (reason {{ $labels.reason }}): they never reach Loki. rate_limited and stream_limited are Loki's limits (see LokiDiscardingSamples); ingester_error means Loki failed every retry (see LokiRequestErrors).`,
      }),
      alertingRule({
        alert: `${props.alertPrefix}PushFailing`,
        expr: `sum by (namespace, pod, status_code) (rate(promtail_request_duration_seconds_count{${job}, status_code!~"2.."}[5m])) > 0`,
        for: '15m',
        severity: 'warning',
        summary: `${props.what} {{ $labels.pod }} fails to push to Loki (status {{ $labels.status_code }})`,
        description: `${props.what} {{ $labels.pod }} in {{ $labels.namespace }} has had pushes to Loki fail with status {{ $labels.status_code }} for 15 minutes; it retries, then drops the batch. 429 is Loki's rate limit, 5xx a failing Loki, a negative status a connection error (is Loki up, does a NetworkPolicy block it?).`,
      }),
    ],
  };
}

/** The dashboard of a Promtail that pushes to Loki: what it sends, drops and fails to push, and its memory. */
export function promtailDashboard(props: { readonly uid: string; readonly title: string; readonly job: string; readonly what: string }): Dashboard {
  const job = `job="${props.job}"`;
  return componentDashboard({
    uid: props.uid,
    title: props.title,
    description: `Health, throughput, failures and saturation of ${props.what}.`,
    health: [upPanel(props.job, props.title, '{{pod}}')],
    throughput: [
      {
        title: 'Lines sent',
        description: 'Log lines pushed to Loki per second.',
        unit: 'short',
        queries: [{ expr: `sum by (pod) (rate(promtail_sent_entries_total{${job}}[5m]))`, legend: '{{pod}}' }],
      },
    ],
    errors: [
      {
        title: 'Lines dropped',
        description: 'Log lines given up on per second, by reason: they never reach Loki.',
        unit: 'short',
        queries: [{ expr: `sum by (pod, reason) (rate(promtail_dropped_entries_total{${job}}[5m]))`, legend: '{{pod}} {{reason}}' }],
      },
      {
        title: 'Failed pushes',
        description: 'Pushes to Loki that did not succeed per second, by HTTP status (-1: no connection).',
        unit: 'reqps',
        queries: [
          { expr: `sum by (status_code) (rate(promtail_request_duration_seconds_count{${job}, status_code!~"2.."}[5m]))`, legend: '{{status_code}}' },
        ],
      },
    ],
    saturation: [memoryPanel(props.job, props.title, '{{pod}}')],
  });
}

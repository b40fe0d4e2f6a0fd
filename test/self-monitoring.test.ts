/**
 * The stack's alerts on itself: every alert of every component's group, unit-tested by promtool with series
 * that make it fire and series that must not (a healthy target, and the time before `for` elapses), with the
 * summary and description the on-call engineer reads. Every metric a rule uses is one the pinned component
 * emits: METRIC_SOURCES cites where, and a test parses every expression with Prometheus's grammar to hold
 * the rules to that list.
 *
 * promtool is optional locally and required in CI, as in rules.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import type { AlertingRule, RuleFile } from '../charts/shared/scrape.ts';
import type { ValuesInput } from '../charts/values.ts';
import { METRIC_SOURCES, promql } from './metric-sources.ts';
import { EXTERNAL_METRICS_VALUES, HARDWARE_VALUES, render } from './support.ts';

/** Hardware monitoring, a three-peer Alertmanager, an HA Loki and an external metrics store: every self-monitoring rule renders. */
const VALUES: ValuesInput = {
  ...HARDWARE_VALUES,
  ...EXTERNAL_METRICS_VALUES,
  alertmanager: { replicas: 3 },
  loki: {
    replicas: 3,
    objectStore: { type: 's3', endpoint: 's3.eu-west-1.amazonaws.com', bucket: 'logs', credentials: { type: 'secret', name: 'loki-s3' } },
  },
};
/** The hardware alerts on the servers themselves; rules.test.ts tests them. */
const HARDWARE_GROUP = 'redfish';

const ruleFileText = render(VALUES).find('ConfigMap', 'prometheus-rules').data['rules.yaml'] as string;
const groups = (YAML.parse(ruleFileText) as RuleFile).groups.filter((g) => g.name !== HARDWARE_GROUP);
const alerts = groups.flatMap((g) => g.rules as AlertingRule[]);

describe('self-monitoring rules', () => {
  it('has a group for every component of the stack', () => {
    expect(groups.map((g) => g.name).sort()).toEqual([
      'alertmanager',
      'grafana',
      'loki',
      'loki-capacity',
      'otel-collector',
      'prometheus',
      'prometheus-capacity',
      'promtail',
      'redfish-exporters',
      'syslog',
      'tempo',
      'tempo-capacity',
      'volumes',
    ]);
  });

  it('uses only metrics the pinned components emit, in valid PromQL', () => {
    for (const rule of alerts) {
      const { metrics, errors } = promql(rule.expr);
      expect(errors, rule.alert).toEqual([]);
      for (const metric of metrics) expect(Object.keys(METRIC_SOURCES), `${rule.alert} uses ${metric}`).toContain(metric);
    }
  });

  it("measures each store's memory and CPU against the limits its container renders with", () => {
    const values: ValuesInput = {
      prometheus: { resources: { limits: { cpu: '4', memory: '8Gi' } } },
      loki: { resources: { limits: { cpu: '1500m', memory: '3Gi' } } },
    };
    const stack = render(values);
    const limits = (name: string) => stack.find('StatefulSet', name).spec.template.spec.containers[0].resources.limits;
    const rendered = (YAML.parse(stack.find('ConfigMap', 'prometheus-rules').data['rules.yaml']) as RuleFile).groups;
    const expr = (group: string, alert: string) =>
      (rendered.find((g) => g.name === group)!.rules as AlertingRule[]).find((r) => r.alert === alert)!.expr;
    // The container's limits, in whichever spelling of the same quantity the render uses.
    expect(limits('prometheus')).toMatchObject({ cpu: expect.stringMatching(/^(4|4000m)$/), memory: expect.stringMatching(/^(8Gi|8192Mi)$/) });
    expect(expr('prometheus-capacity', 'PrometheusNearMemoryLimit')).toContain(`/ ${8 * 1024 ** 3} > 0.8`);
    expect(expr('prometheus-capacity', 'PrometheusNearCpuLimit')).toContain('/ 4 > 0.8');
    expect(expr('loki-capacity', 'LokiNearMemoryLimit')).toContain(`/ ${3 * 1024 ** 3} > 0.8`);
    expect(expr('loki-capacity', 'LokiNearCpuLimit')).toContain('/ 1.5 > 0.8');
  });

  it('gives every alert a severity to route by, a summary and a description of what to do', () => {
    for (const rule of alerts) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations?.description?.length, rule.alert).toBeGreaterThan(120);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// promtool unit tests
// ---------------------------------------------------------------------------------------------------------

/** One alert's unit test: series that make it fire for some targets and not others. */
interface AlertCase {
  readonly alert: string;
  readonly series: ReadonlyArray<readonly [series: string, values: string]>;
  /** Minute at which nothing fires yet (the condition holds, `for` has not elapsed). */
  readonly quietAt: number;
  /** Minute at which exactly `firing` fire. */
  readonly firingAt: number;
  /** The alerts expected, by their labels (without severity), with `$value` as the annotations render it. */
  readonly firing: ReadonlyArray<{ readonly labels: Record<string, string>; readonly value?: string }>;
}

const s = (metric: string, labels: Record<string, string>) =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
/** A counter rising by `perMinute` each minute for an hour. */
const rising = (perMinute: number) => `0+${perMinute}x60`;
const flat = (value: number) => `${value}x60`;

const PROM = { job: 'prometheus', instance: 'prometheus.sightline.svc.cluster.local:9090' };
const AM0 = { job: 'alertmanager', instance: '10.1.0.5:9093', namespace: 'sightline', pod: 'alertmanager-0' };
const AM1 = { ...AM0, instance: '10.1.0.6:9093', pod: 'alertmanager-1' };
const LOKI = { job: 'loki', instance: 'loki.sightline.svc.cluster.local:3100' };
const LOKI0 = { job: 'loki', namespace: 'sightline', pod: 'loki-0', instance: '10.1.0.20:3100' };
const TEMPO = { job: 'tempo', instance: 'tempo.sightline.svc.cluster.local:3200' };
const COL = { job: 'otel-collector', namespace: 'sightline', pod: 'otel-collector-7d9f-abcde', instance: '10.1.0.9:8888' };
const COL2 = { ...COL, pod: 'otel-collector-7d9f-fghij', instance: '10.1.0.10:8888' };
const PT = {
  job: 'promtail',
  namespace: 'sightline-agents',
  pod: 'promtail-x2k4q',
  instance: '10.1.0.11:3101',
  node: 'n1',
  host: 'loki.sightline.svc.cluster.local:3100',
};
const PT2 = { ...PT, pod: 'promtail-9fj2d', instance: '10.1.0.12:3101', node: 'n2' };
const SYSLOG = { ...PT, job: 'syslog', namespace: 'sightline', pod: 'syslog-5c7b-xk2l9' };
const PVC = (claim: string, namespace = 'sightline') => ({
  job: 'kubelet',
  instance: '10.0.0.21:10250',
  node: 'worker-1',
  namespace,
  persistentvolumeclaim: claim,
});
const pick = (labels: Record<string, string>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, labels[k]!]));

/** The volume series of a claim with `available` of 100 bytes free. */
const volume = (claim: string, available: number, namespace?: string): Array<readonly [string, string]> => [
  [s('kubelet_volume_stats_available_bytes', PVC(claim, namespace)), flat(available)],
  [s('kubelet_volume_stats_capacity_bytes', PVC(claim, namespace)), flat(100)],
];

const CASES: readonly AlertCase[] = [
  {
    alert: 'PrometheusTargetDown',
    quietAt: 9,
    firingAt: 15,
    series: [
      [s('up', LOKI), flat(0)],
      [s('up', TEMPO), flat(1)],
      [s('up', { job: 'redfish-fra1', instance: 'fra1-s01', bmc: '10.0.0.1', group: 'fra1' }), flat(0)],
    ],
    firing: [{ labels: LOKI }],
  },
  {
    alert: 'PrometheusRuleEvaluationFailures',
    quietAt: 15,
    firingAt: 20,
    series: [
      [s('prometheus_rule_evaluation_failures_total', { ...PROM, rule_group: '/etc/prometheus-rules/rules.yaml;loki' }), rising(1)],
      [s('prometheus_rule_evaluation_failures_total', { ...PROM, rule_group: '/etc/prometheus-rules/rules.yaml;tempo' }), flat(0)],
    ],
    firing: [{ labels: { ...PROM, rule_group: '/etc/prometheus-rules/rules.yaml;loki' } }],
  },
  {
    alert: 'PrometheusTsdbCompactionsFailing',
    quietAt: 20,
    firingAt: 30,
    series: [
      [s('prometheus_tsdb_compactions_failed_total', PROM), '0x10 1x50'],
      [s('prometheus_tsdb_compactions_failed_total', { ...PROM, instance: 'other:9090' }), flat(0)],
    ],
    firing: [{ labels: PROM }],
  },
  {
    alert: 'PrometheusTsdbWalCorrupted',
    quietAt: 5,
    firingAt: 15,
    series: [
      [s('prometheus_tsdb_wal_corruptions_total', PROM), '0x10 1x50'],
      [s('prometheus_tsdb_wal_corruptions_total', { ...PROM, instance: 'other:9090' }), flat(0)],
    ],
    firing: [{ labels: PROM }],
  },
  {
    alert: 'PrometheusAlertmanagerNotFound',
    quietAt: 9,
    firingAt: 15,
    series: [
      [s('prometheus_notifications_alertmanagers_discovered', PROM), flat(0)],
      [s('prometheus_notifications_alertmanagers_discovered', { ...PROM, instance: 'other:9090' }), flat(3)],
    ],
    firing: [{ labels: PROM }],
  },
  {
    alert: 'PrometheusNotificationErrors',
    quietAt: 15,
    firingAt: 20,
    series: [
      [s('prometheus_notifications_errors_total', { ...PROM, alertmanager: 'http://10.1.0.5:9093/api/v2/alerts' }), rising(5)],
      [s('prometheus_notifications_errors_total', { ...PROM, alertmanager: 'http://10.1.0.6:9093/api/v2/alerts' }), flat(0)],
    ],
    firing: [{ labels: { ...PROM, alertmanager: 'http://10.1.0.5:9093/api/v2/alerts' } }],
  },
  {
    alert: 'PrometheusDroppingAlerts',
    quietAt: 5,
    firingAt: 10,
    series: [
      [s('prometheus_notifications_dropped_total', { ...PROM, alertmanager: 'http://10.1.0.5:9093/api/v2/alerts' }), rising(5)],
      [s('prometheus_notifications_dropped_total', { ...PROM, instance: 'other:9090', alertmanager: 'x' }), flat(0)],
    ],
    firing: [{ labels: PROM }],
  },
  {
    alert: 'PrometheusRemoteWriteFailing',
    quietAt: 15,
    firingAt: 20,
    series: [
      [
        s('prometheus_remote_storage_samples_failed_total', { ...PROM, remote_name: 'a1b2c3', url: 'https://mimir.example.com/api/v1/push' }),
        flat(0),
      ],
      [
        s('prometheus_remote_storage_samples_retried_total', { ...PROM, remote_name: 'a1b2c3', url: 'https://mimir.example.com/api/v1/push' }),
        rising(50),
      ],
      [s('prometheus_remote_storage_samples_failed_total', { ...PROM, instance: 'other:9090', remote_name: 'a1b2c3', url: 'x' }), flat(0)],
      [s('prometheus_remote_storage_samples_retried_total', { ...PROM, instance: 'other:9090', remote_name: 'a1b2c3', url: 'x' }), flat(0)],
    ],
    firing: [{ labels: { ...PROM, remote_name: 'a1b2c3', url: 'https://mimir.example.com/api/v1/push' } }],
  },
  {
    alert: 'VolumeFillingUp',
    quietAt: 14,
    firingAt: 20,
    series: [...volume('loki-data', 10), ...volume('grafana-data', 50), ...volume('someone-elses', 1, 'team-a')],
    firing: [{ labels: PVC('loki-data'), value: '10%' }],
  },
  {
    alert: 'VolumeAlmostFull',
    quietAt: 4,
    firingAt: 10,
    series: [...volume('prometheus-data', 3), ...volume('loki-data', 10)],
    firing: [{ labels: PVC('prometheus-data'), value: '3%' }],
  },
  {
    alert: 'AlertmanagerNotificationsFailing',
    quietAt: 10,
    firingAt: 15,
    series: [
      [s('alertmanager_notifications_failed_total', { ...AM0, integration: 'slack', reason: 'clientError' }), rising(1)],
      [s('alertmanager_notifications_failed_total', { ...AM1, integration: 'email', reason: 'other' }), flat(0)],
    ],
    firing: [{ labels: { ...pick(AM0, 'namespace', 'pod'), integration: 'slack' } }],
  },
  {
    alert: 'AlertmanagerClusterMembersMissing',
    quietAt: 14,
    firingAt: 20,
    series: [
      [s('alertmanager_cluster_members', AM0), flat(2)],
      [s('alertmanager_cluster_members', AM1), flat(3)],
    ],
    firing: [{ labels: AM0, value: '2' }],
  },
  {
    alert: 'LokiRequestErrors',
    quietAt: 15,
    firingAt: 20,
    series: [
      [s('loki_request_duration_seconds_count', { ...LOKI, method: 'POST', route: 'loki_api_v1_push', status_code: '500', ws: 'false' }), rising(10)],
      [s('loki_request_duration_seconds_count', { ...LOKI, method: 'POST', route: 'loki_api_v1_push', status_code: '204', ws: 'false' }), rising(90)],
      [
        s('loki_request_duration_seconds_count', { ...LOKI, method: 'GET', route: 'loki_api_v1_query_range', status_code: '200', ws: 'false' }),
        rising(100),
      ],
    ],
    firing: [{ labels: { ...LOKI, route: 'loki_api_v1_push' }, value: '10%' }],
  },
  {
    alert: 'LokiDiscardingSamples',
    quietAt: 15,
    firingAt: 20,
    series: [
      [s('loki_discarded_samples_total', { ...LOKI, reason: 'rate_limited', tenant: 'fake' }), rising(50)],
      [s('loki_discarded_samples_total', { ...LOKI, reason: 'line_too_long', tenant: 'fake' }), flat(7)],
    ],
    firing: [{ labels: { ...LOKI, reason: 'rate_limited' } }],
  },
  {
    alert: 'LokiRingMembersUnhealthy',
    quietAt: 14,
    firingAt: 20,
    // Every replica reports the ring as it sees it: one alert, not one per replica.
    series: [
      [s('loki_ring_members', { ...LOKI0, name: 'ingester', state: 'Unhealthy' }), flat(1)],
      [s('loki_ring_members', { ...LOKI0, pod: 'loki-1', instance: '10.1.0.21:3100', name: 'ingester', state: 'Unhealthy' }), flat(1)],
      [s('loki_ring_members', { ...LOKI0, name: 'ingester', state: 'ACTIVE' }), flat(2)],
      [s('loki_ring_members', { ...LOKI0, name: 'compactor', state: 'Unhealthy' }), flat(0)],
    ],
    firing: [{ labels: { job: 'loki', namespace: 'sightline' }, value: '1' }],
  },
  {
    alert: 'TempoDiscardingSpans',
    quietAt: 15,
    firingAt: 20,
    series: [
      [s('tempo_discarded_spans_total', { ...TEMPO, reason: 'live_traces_exceeded', tenant: 'single-tenant' }), rising(20)],
      [s('tempo_discarded_spans_total', { ...TEMPO, reason: 'trace_too_large', tenant: 'single-tenant' }), flat(2)],
    ],
    firing: [{ labels: { ...TEMPO, reason: 'live_traces_exceeded' } }],
  },
  {
    alert: 'TempoFlushesFailing',
    quietAt: 10,
    firingAt: 15,
    series: [
      [s('tempo_live_store_local_failed_flushes_total', TEMPO), rising(1)],
      [s('tempo_live_store_failed_completions_total', TEMPO), flat(0)],
      [s('tempo_live_store_local_failed_flushes_total', { ...TEMPO, instance: 'other:3200' }), flat(0)],
      [s('tempo_live_store_failed_completions_total', { ...TEMPO, instance: 'other:3200' }), flat(0)],
    ],
    firing: [{ labels: TEMPO }],
  },
  {
    alert: 'TempoGeneratorRemoteWriteFailing',
    quietAt: 15,
    firingAt: 20,
    series: [
      [
        s('prometheus_remote_storage_samples_failed_total', {
          ...TEMPO,
          remote_name: 'single-tenant-0',
          url: 'http://prometheus:9090/api/v1/write',
          tenant: 'single-tenant',
        }),
        flat(0),
      ],
      [
        s('prometheus_remote_storage_samples_retried_total', {
          ...TEMPO,
          remote_name: 'single-tenant-0',
          url: 'http://prometheus:9090/api/v1/write',
          tenant: 'single-tenant',
        }),
        rising(100),
      ],
      [s('prometheus_remote_storage_samples_failed_total', { ...TEMPO, instance: 'other:3200', tenant: 'single-tenant' }), flat(0)],
      [s('prometheus_remote_storage_samples_retried_total', { ...TEMPO, instance: 'other:3200', tenant: 'single-tenant' }), flat(0)],
    ],
    firing: [{ labels: TEMPO }],
  },
  {
    alert: 'OtelCollectorRefusingData',
    quietAt: 10,
    firingAt: 15,
    series: [
      [s('otelcol_receiver_refused_spans', { ...COL, receiver: 'otlp', transport: 'grpc' }), rising(100)],
      [s('otelcol_receiver_refused_log_records', { ...COL, receiver: 'otlp', transport: 'http' }), flat(0)],
      [s('otelcol_receiver_refused_spans', { ...COL2, receiver: 'otlp', transport: 'grpc' }), flat(0)],
    ],
    firing: [{ labels: { ...pick(COL, 'namespace', 'pod'), receiver: 'otlp', signal: 'spans' } }],
  },
  {
    alert: 'OtelCollectorSendFailing',
    quietAt: 10,
    firingAt: 15,
    series: [
      [s('otelcol_exporter_send_failed_log_records', { ...COL, exporter: 'otlp_http/loki' }), rising(30)],
      [s('otelcol_exporter_send_failed_spans', { ...COL, exporter: 'otlp_grpc/tempo' }), flat(0)],
    ],
    firing: [{ labels: { ...pick(COL, 'namespace', 'pod'), exporter: 'otlp_http/loki', signal: 'log records' } }],
  },
  {
    alert: 'OtelCollectorQueueFull',
    quietAt: 9,
    firingAt: 15,
    series: [
      [s('otelcol_exporter_queue_size', { ...COL, exporter: 'otlp_grpc/tempo', data_type: 'traces' }), flat(900)],
      [s('otelcol_exporter_queue_capacity', { ...COL, exporter: 'otlp_grpc/tempo', data_type: 'traces' }), flat(1000)],
      [s('otelcol_exporter_queue_size', { ...COL, exporter: 'otlp_http/loki', data_type: 'logs' }), flat(10)],
      [s('otelcol_exporter_queue_capacity', { ...COL, exporter: 'otlp_http/loki', data_type: 'logs' }), flat(1000)],
    ],
    firing: [{ labels: { ...pick(COL, 'namespace', 'pod'), exporter: 'otlp_grpc/tempo' }, value: '90%' }],
  },
  {
    alert: 'OtelCollectorDroppingData',
    quietAt: 5,
    firingAt: 10,
    series: [
      [s('otelcol_exporter_enqueue_failed_spans', { ...COL, exporter: 'otlp_grpc/tempo' }), rising(40)],
      [s('otelcol_exporter_enqueue_failed_spans', { ...COL2, exporter: 'otlp_grpc/tempo' }), flat(0)],
    ],
    firing: [{ labels: { ...pick(COL, 'namespace', 'pod'), exporter: 'otlp_grpc/tempo', signal: 'spans' } }],
  },
  ...promtailCases('Promtail', PT, PT2),
  ...promtailCases('SyslogReceiver', SYSLOG, { ...SYSLOG, pod: 'syslog-5c7b-aaaaa' }),
  {
    alert: 'GrafanaDown',
    quietAt: 4,
    firingAt: 10,
    series: [
      [s('up', { job: 'grafana', instance: 'grafana.sightline.svc.cluster.local:3000' }), flat(0)],
      [s('up', LOKI), flat(1)],
    ],
    firing: [{ labels: { job: 'grafana', instance: 'grafana.sightline.svc.cluster.local:3000' } }],
  },
  {
    alert: 'RedfishExporterGroupDown',
    quietAt: 9,
    firingAt: 15,
    series: [
      [s('up', { job: 'redfish-fra1', group: 'fra1', instance: 'fra1-s01', bmc: '10.0.0.1' }), flat(0)],
      [s('up', { job: 'redfish-fra1', group: 'fra1', instance: 'fra1-s02', bmc: '10.0.0.2' }), flat(0)],
      [s('up', { job: 'redfish-ams1', group: 'ams1', instance: 'ams1-s01', bmc: '10.0.1.1' }), flat(0)],
      [s('up', { job: 'redfish-ams1', group: 'ams1', instance: 'ams1-s02', bmc: '10.0.1.2' }), flat(1)],
    ],
    firing: [{ labels: { job: 'redfish-fra1', group: 'fra1' } }],
  },
  ...capacityCases('Prometheus', PROM, 2, 2 * 1024 ** 3),
  ...capacityCases('Loki', LOKI, 2, 2 * 1024 ** 3),
  ...capacityCases('Tempo', TEMPO, 1, 2 * 1024 ** 3),
  {
    alert: 'LokiBeyondMonolithicSizing',
    // 1GB a minute: the day's rate passes 20GB after about 20 minutes, the alert an hour later.
    quietAt: 70,
    firingAt: 100,
    series: [
      [s('loki_distributor_bytes_received_total', { ...LOKI, tenant: 'fake' }), '0+1000000000x120'],
      [s('loki_distributor_bytes_received_total', { job: 'other-loki', instance: 'x', tenant: 'fake' }), '0+1000000x120'],
    ],
    firing: [{ labels: { job: 'loki' } }],
  },
  {
    alert: 'TempoBeyondMonolithicSizing',
    // 10MB/s from the start: the hour's rate (over data from the start only) passes 5MB/s after half an hour,
    // the alert an hour later.
    quietAt: 80,
    firingAt: 120,
    series: [
      [s('tempo_distributor_bytes_received_total', { ...TEMPO, tenant: 'single-tenant' }), '0+600000000x150'],
      [s('tempo_distributor_bytes_received_total', { job: 'other-tempo', instance: 'x', tenant: 'single-tenant' }), '0+60000000x150'],
    ],
    firing: [{ labels: { job: 'tempo' } }],
  },
];

/** The two alerts of a Promtail that pushes to Loki: one pod failing, one healthy. */
function promtailCases(prefix: string, failing: Record<string, string>, healthy: Record<string, string>): AlertCase[] {
  return [
    {
      alert: `${prefix}DroppingEntries`,
      quietAt: 5,
      firingAt: 10,
      series: [
        [s('promtail_dropped_entries_total', { ...failing, tenant: '', reason: 'rate_limited' }), rising(100)],
        [s('promtail_dropped_entries_total', { ...healthy, tenant: '', reason: 'rate_limited' }), flat(0)],
      ],
      firing: [{ labels: { ...pick(failing, 'namespace', 'pod'), reason: 'rate_limited' } }],
    },
    {
      alert: `${prefix}PushFailing`,
      quietAt: 15,
      firingAt: 20,
      series: [
        [s('promtail_request_duration_seconds_count', { ...failing, status_code: '-1' }), rising(2)],
        [s('promtail_request_duration_seconds_count', { ...healthy, status_code: '204' }), rising(20)],
      ],
      firing: [{ labels: { ...pick(failing, 'namespace', 'pod'), status_code: '-1' } }],
    },
  ];
}

/**
 * The capacity alerts of a store with the default limits (`cores` CPUs, `memory` bytes): a pod at 90% of each
 * limit fires, one at half does not.
 */
function capacityCases(name: string, store: Record<string, string>, cores: number, memory: number): AlertCase[] {
  const busy = { ...store, instance: `${name.toLowerCase()}-0` };
  const idle = { ...store, instance: `${name.toLowerCase()}-1` };
  return [
    {
      alert: `${name}NearMemoryLimit`,
      quietAt: 29,
      firingAt: 35,
      series: [
        [s('process_resident_memory_bytes', busy), flat(Math.round(memory * 0.9))],
        [s('process_resident_memory_bytes', idle), flat(memory / 2)],
      ],
      firing: [{ labels: pick(busy, 'job', 'instance'), value: '90%' }],
    },
    {
      alert: `${name}NearCpuLimit`,
      quietAt: 29,
      firingAt: 40,
      series: [
        // CPU seconds a minute: 90% and 50% of the limit.
        [s('process_cpu_seconds_total', busy), rising(cores * 0.9 * 60)],
        [s('process_cpu_seconds_total', idle), rising(cores * 0.5 * 60)],
      ],
      firing: [{ labels: pick(busy, 'job', 'instance'), value: '90%' }],
    },
  ];
}

/** An annotation as Prometheus renders it for an alert with these labels and value. */
function expand(template: string, labels: Record<string, string>, value: string | undefined): string {
  return template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => {
      if (!(name in labels)) throw new Error(`the test gives no label ${name} for ${template}`);
      return labels[name]!;
    })
    .replace(/\{\{ \$value( \| humanizePercentage)? \}\}/g, () => {
      if (value === undefined) throw new Error(`the test gives no value for ${template}`);
      return value;
    });
}

function unitTests() {
  return {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: CASES.map((c) => {
      const rule = alerts.find((a) => a.alert === c.alert);
      if (!rule) throw new Error(`no alert ${c.alert} in the rule file`);
      return {
        name: c.alert,
        interval: '1m',
        input_series: c.series.map(([series, values]) => ({ series, values })),
        alert_rule_test: [
          { eval_time: `${c.quietAt}m`, alertname: c.alert, exp_alerts: [] },
          {
            eval_time: `${c.firingAt}m`,
            alertname: c.alert,
            exp_alerts: c.firing.map((f) => ({
              exp_labels: { ...f.labels, severity: rule.labels!.severity! },
              exp_annotations: Object.fromEntries(Object.entries(rule.annotations!).map(([k, t]) => [k, expand(t, f.labels, f.value)])),
            })),
          },
        ],
      };
    }),
  };
}

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const promtoolFound = spawnSync(PROMTOOL, ['--version']).status === 0;
const MISSING = 'promtool is not installed (Debian package prometheus): the self-monitoring rules were not unit-tested';
if (!promtoolFound && !process.env.CI) console.warn(`self-monitoring.test.ts: ${MISSING}; skipping promtool checks.`);

describe.runIf(promtoolFound || process.env.CI)('self-monitoring rules under promtool', () => {
  const work = mkdtempSync(join(tmpdir(), 'sightline-self-rules-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('unit-tests every self-monitoring alert', () => {
    expect(CASES.map((c) => c.alert).sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  it('fires each alert for the failing targets only, and only once its for has elapsed (promtool test rules)', () => {
    if (!promtoolFound) throw new Error(`${MISSING}. CI must install it (apt-get install prometheus).`);
    writeFileSync(join(work, 'rules.yaml'), ruleFileText);
    writeFileSync(join(work, 'tests.yaml'), YAML.stringify(unitTests()));

    const result = spawnSync(PROMTOOL, ['test', 'rules', 'tests.yaml'], { cwd: work, encoding: 'utf8' });

    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});

if (!promtoolFound && !process.env.CI) {
  describe('self-monitoring rules under promtool', () => {
    it.skip(MISSING, () => {});
  });
}

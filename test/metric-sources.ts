import { parser } from '@prometheus-io/lezer-promql';

/**
 * Where each metric the alert rules and dashboards use comes from, in the version Sightline pins (file at
 * tag). A rule or panel that uses a metric not listed here fails its test: look the metric up in the
 * component's source first. Shared by self-monitoring.test.ts and dashboards.test.ts.
 */
export const METRIC_SOURCES: Readonly<Record<string, string>> = {
  up: 'Prometheus: written by the scrape loop for every target',
  prometheus_rule_evaluation_failures_total: 'prometheus v3.14.0 (module v0.314.0) rules/group.go',
  prometheus_notifications_errors_total: 'prometheus v3.14.0 notifier/metric.go',
  prometheus_notifications_dropped_total: 'prometheus v3.14.0 notifier/metric.go',
  prometheus_notifications_alertmanagers_discovered: 'prometheus v3.14.0 notifier/metric.go',
  prometheus_tsdb_compactions_failed_total: 'prometheus v3.14.0 tsdb/db.go',
  prometheus_tsdb_wal_corruptions_total: 'prometheus v3.14.0 tsdb/head.go',
  kubelet_volume_stats_available_bytes:
    'kubernetes v1.36.3 pkg/kubelet/metrics/metrics.go (VolumeStatsAvailableBytesKey), collectors/volume_stats.go',
  kubelet_volume_stats_capacity_bytes: 'kubernetes v1.36.3 pkg/kubelet/metrics/metrics.go (VolumeStatsCapacityBytesKey), collectors/volume_stats.go',
  alertmanager_notifications_failed_total: 'alertmanager v0.35.0 notify/metrics.go',
  alertmanager_cluster_members: 'alertmanager v0.35.0 cluster/delegate.go',
  loki_request_duration_seconds_count: 'loki v3.7.6 via dskit server/metrics.go (request_duration_seconds, namespace loki)',
  loki_discarded_samples_total: 'loki v3.7.6 pkg/validation/validate.go',
  loki_ring_members: 'loki v3.7.6 via dskit ring/ring.go (ring_members, prefixed loki_ in pkg/loki/modules.go initRing)',
  tempo_discarded_spans_total: 'tempo v3.0.3 modules/overrides/discarded_spans.go',
  tempo_live_store_local_failed_flushes_total: 'tempo v3.0.3 modules/livestore/complete_block_lifecycle.go',
  tempo_live_store_failed_completions_total: 'tempo v3.0.3 modules/livestore/live_store.go',
  prometheus_remote_storage_samples_failed_total:
    'tempo v3.0.3 metrics-generator, prometheus v0.311.3 storage/remote/queue_manager.go; Prometheus v3.14.0 storage/remote/queue_manager.go',
  prometheus_remote_storage_samples_retried_total:
    'tempo v3.0.3 metrics-generator, prometheus v0.311.3 storage/remote/queue_manager.go; Prometheus v3.14.0 storage/remote/queue_manager.go',
  otelcol_receiver_refused_spans: 'collector v0.159.0 receiver/receiverhelper metadata.yaml (no _total: without_type_suffix)',
  otelcol_receiver_refused_metric_points: 'collector v0.159.0 receiver/receiverhelper metadata.yaml',
  otelcol_receiver_refused_log_records: 'collector v0.159.0 receiver/receiverhelper metadata.yaml',
  otelcol_exporter_send_failed_spans: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_send_failed_metric_points: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_send_failed_log_records: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_enqueue_failed_spans: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_enqueue_failed_metric_points: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_enqueue_failed_log_records: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_queue_size: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  otelcol_exporter_queue_capacity: 'collector v0.159.0 exporter/exporterhelper metadata.yaml',
  promtail_dropped_entries_total: 'promtail v3.6.11 clients/pkg/promtail/client/client.go',
  promtail_request_duration_seconds_count: 'promtail v3.6.11 clients/pkg/promtail/client/client.go (status_code, host)',
  prometheus_tsdb_head_samples_appended_total: 'prometheus v3.14.0 tsdb/head.go',
  prometheus_tsdb_head_series: 'prometheus v3.14.0 tsdb/head.go',
  prometheus_notifications_sent_total: 'prometheus v3.14.0 notifier/metric.go',
  process_resident_memory_bytes:
    'client_golang prometheus/process_collector.go, registered by every Go component here (Prometheus, Alertmanager, Loki, Tempo, Promtail, Grafana)',
  alertmanager_alerts: 'alertmanager v0.35.0 dispatch/metric.go',
  alertmanager_notifications_total: 'alertmanager v0.35.0 notify/metrics.go',
  loki_distributor_bytes_received_total: 'loki v3.7.6 pkg/loghttp/push/push.go',
  tempo_distributor_bytes_received_total: 'tempo v3.0.3 modules/distributor/distributor.go',
  process_cpu_seconds_total: 'client_golang prometheus/process_collector.go, registered by every Go component here',
  loki_distributor_lines_received_total: 'loki v3.7.6 pkg/loghttp/push/push.go',
  loki_ingester_memory_streams: 'loki v3.7.6 pkg/ingester/instance.go',
  tempo_distributor_spans_received_total: 'tempo v3.0.3 modules/distributor/distributor.go',
  tempo_live_store_live_traces: 'tempo v3.0.3 modules/livestore/instance.go',
  otelcol_receiver_accepted_spans: 'collector v0.159.0 receiver/receiverhelper metadata.yaml',
  otelcol_receiver_accepted_metric_points: 'collector v0.159.0 receiver/receiverhelper metadata.yaml',
  otelcol_receiver_accepted_log_records: 'collector v0.159.0 receiver/receiverhelper metadata.yaml',
  otelcol_process_memory_rss: 'collector v0.159.0 service metadata.yaml',
  promtail_sent_entries_total: 'promtail v3.6.11 clients/pkg/promtail/client/client.go',
  grafana_http_request_duration_seconds_count: 'grafana pkg/middleware/request_metrics.go (handler, status_code, method)',
  traces_spanmetrics_calls_total: 'tempo v3.0.3 metrics-generator span-metrics processor (as in correlation.test.ts)',
  traces_spanmetrics_latency_bucket: 'tempo v3.0.3 metrics-generator span-metrics processor (classic histogram)',
};

/** Metric names and syntax errors of a PromQL expression, by Prometheus's own grammar. */
export function promql(expr: string): { metrics: string[]; errors: string[] } {
  const metrics: string[] = [];
  const errors: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) errors.push(`at ${cursor.from}: ${expr.slice(cursor.from, cursor.from + 20)}`);
    else if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return { metrics, errors };
}

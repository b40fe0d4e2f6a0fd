/**
 * Correlation in Grafana: the links between traces, logs and metrics, which refer to each other by datasource
 * uid constant. Trace-to-logs needs a logs datasource: its link is tested on a Tempo chart given the Loki uid
 * or none, and in the stack, where Loki provides it.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { Endpoint } from '../charts/shared/endpoint.ts';
import { stackService } from '../charts/shared/workload.ts';
import { Tempo } from '../charts/tempo.ts';
import { parseValues } from '../charts/values.ts';
import { render } from './support.ts';

/** Series the metrics-generator writes, per processor (Tempo 3.0.3, classic histograms). */
const GENERATED_SERIES: Record<string, readonly string[]> = {
  'span-metrics': ['traces_spanmetrics_calls_total', 'traces_spanmetrics_size_total', ...histogram('traces_spanmetrics_latency')],
  'service-graphs': [
    'traces_service_graph_request_total',
    'traces_service_graph_request_failed_total',
    ...histogram('traces_service_graph_request_server_seconds'),
    ...histogram('traces_service_graph_request_client_seconds'),
    ...histogram('traces_service_graph_request_messaging_system_seconds'),
  ],
};
/** Labels of the span metrics: the default intrinsic dimensions, `job` and `instance`, and `le` on buckets. */
const SPAN_METRICS_LABELS = new Set(['service', 'span_name', 'span_kind', 'status_code', 'job', 'instance', 'le']);

function histogram(name: string): string[] {
  return ['bucket', 'count', 'sum'].map((suffix) => `${name}_${suffix}`);
}

/** A single `$` before one of Grafana's own macros, which Grafana's provisioning would expand (to nothing). */
const UNESCAPED_MACRO = /(?<!\$)\$(\{__|__)/g;

/**
 * A trace-to-metrics query as Grafana runs it: provisioning turns `$$` into `$`, then the span's tags fill
 * `${__tags}` (here with the mapped tags of a span of service `checkout`).
 */
function asRun(provisioned: string, tags: string): string {
  return provisioned.replaceAll('$$', '$').replaceAll('${__tags}', tags).replaceAll('$__tags', tags);
}

/** Parses PromQL with Prometheus's own grammar; returns the syntax errors, metric names and label names it uses. */
function promql(query: string): { errors: string[]; metrics: string[]; labels: string[] } {
  const errors: string[] = [];
  const metrics: string[] = [];
  const labels: string[] = [];
  const cursor = parser.parse(query).cursor();
  do {
    const text = query.slice(cursor.from, cursor.to);
    if (cursor.type.isError) errors.push(`at ${cursor.from}: "${text}"`);
    else if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') metrics.push(text);
    else if (cursor.name === 'LabelName') labels.push(text);
  } while (cursor.next());
  return { errors, metrics, labels };
}

describe('correlation between signals', () => {
  const r = render();
  const datasourcesText: string = r.find('ConfigMap', 'grafana-datasources').data['datasources.yaml'];
  const { datasources } = YAML.parse(datasourcesText);
  const byUid = (uid: string) => datasources.find((d: any) => d.uid === uid);
  const tempo = byUid(DATASOURCE_UID.tempo);
  const tempoConfig = r.configFile('tempo-config', 'tempo.yaml');

  it('provisions Tempo under its uid constant, at the URL Tempo publishes', () => {
    expect(tempo).toMatchObject({ type: 'tempo', url: r.stack.tempo!.endpoint.url(), access: 'proxy' });
  });

  it("links exemplars of Prometheus to Tempo, for Tempo's and the OpenTelemetry SDKs' trace-id labels", () => {
    expect(byUid(DATASOURCE_UID.prometheus).jsonData.exemplarTraceIdDestinations).toEqual([
      { name: 'traceID', datasourceUid: DATASOURCE_UID.tempo },
      { name: 'trace_id', datasourceUid: DATASOURCE_UID.tempo },
    ]);
    // Tempo labels exemplars `traceID` unless an override renames it.
    expect(tempoConfig.overrides.defaults.metrics_generator.trace_id_label_name).toBeUndefined();
  });

  it('draws the service map and trace-to-metrics from Prometheus, with the node graph and streamed TraceQL search on', () => {
    expect(tempo.jsonData.serviceMap).toEqual({ datasourceUid: DATASOURCE_UID.prometheus });
    expect(tempo.jsonData.tracesToMetrics.datasourceUid).toBe(DATASOURCE_UID.prometheus);
    expect(tempo.jsonData.nodeGraph).toEqual({ enabled: true });
    expect(tempo.jsonData.search).toEqual({ hide: false });
    expect(tempo.jsonData.streamingEnabled.search).toBe(true);
    expect(tempoConfig.stream_over_http_enabled).toBe(true);
    expect(tempoConfig.overrides.defaults.metrics_generator.processors).toEqual(expect.arrayContaining(['service-graphs', 'span-metrics']));
  });

  describe('trace-to-metrics queries', () => {
    const { tags, queries } = tempo.jsonData.tracesToMetrics;
    const emitted = new Set(tempoConfig.overrides.defaults.metrics_generator.processors.flatMap((p: string) => GENERATED_SERIES[p] ?? []));
    // The span's service.name becomes the `service` label of the span metrics.
    const mapped = tags.map((t: { key: string; value?: string }) => `${t.value ?? t.key}="checkout"`).join(', ');

    it("map the span's service.name to the `service` label of the span metrics", () => {
      expect(tags).toEqual([{ key: 'service.name', value: 'service' }]);
    });

    it("include the request rate and the p95 latency of the span's service", () => {
      expect(queries.map((q: { name: string }) => q.name)).toEqual(['Request rate', 'p95 latency']);
      expect(queries[1].query).toMatch(/^histogram_quantile\(0\.95,/);
    });

    for (const { name, query } of queries as Array<{ name: string; query: string }>) {
      it(`"${name}" parses as PromQL and reads only series and labels Tempo's metrics-generator writes`, () => {
        const parsed = promql(asRun(query, mapped));
        expect(parsed.errors).toEqual([]);
        expect(parsed.metrics.length).toBeGreaterThan(0);
        for (const metric of parsed.metrics) expect(emitted, metric).toContain(metric);
        for (const label of parsed.labels) expect(SPAN_METRICS_LABELS, label).toContain(label);
      });
    }

    it("are caught by the parser when Grafana's interpolation is left unresolved", () => {
      expect(promql(queries[0].query).errors).not.toEqual([]);
    });
  });

  describe('trace-to-logs', () => {
    /** The Grafana datasource settings of a Tempo chart on its own, given a logs datasource uid or none. */
    const tempoJsonData = (logsDataSourceUid: string | undefined): any => {
      const app = Testing.app();
      const prometheus = stackService(new Chart(app, 'stores', { namespace: 'obs' }), 'prometheus', {
        name: 'prometheus',
        identity: { name: 'prometheus', component: 'metrics', version: '1' },
        ports: [{ name: 'http', port: 9090 }],
      });
      return new Tempo(app, 'tempo', {
        namespace: 'obs',
        blockRetention: '24h',
        compactedBlockRetention: '1h',
        maxBlockBytes: 1_000_000,
        maxBlockDuration: '5m',
        searchDurationSlo: '5s',
        storage: '1Gi',
        objectStore: { type: 'filesystem' },
        replicas: 1,
        resources: parseValues(undefined).tempo.resources,
        remoteWrite: [Endpoint.fromService(prometheus, 9090, { scheme: 'http' })],
        logsDataSourceUid,
      }).dataSource.jsonData;
    };
    const linked = tempoJsonData(DATASOURCE_UID.loki);

    it("opens the logs of the span's service (service.name → service_name), filtered by trace id, around the span", () => {
      expect(linked.tracesToLogsV2).toMatchObject({
        datasourceUid: DATASOURCE_UID.loki,
        tags: [{ key: 'service.name', value: 'service_name' }],
        filterByTraceID: true,
      });
      expect(linked.tracesToLogsV2.spanStartTimeShift).toMatch(/^-\d+[smh]$/);
      expect(linked.tracesToLogsV2.spanEndTimeShift).toMatch(/^\d+[smh]$/);
    });

    it('is absent while no logs datasource is given, rather than a link to nothing', () => {
      expect(tempoJsonData(undefined).tracesToLogsV2).toBeUndefined();
    });

    it('opens, in the stack, the Loki datasource the stack provisions', () => {
      expect(tempo.jsonData.tracesToLogsV2.datasourceUid).toBe(DATASOURCE_UID.loki);
      expect(byUid(DATASOURCE_UID.loki)).toMatchObject({ type: 'loki', url: r.stack.loki!.endpoint.url() });
    });

    it('has every datasource link by a uid constant', () => {
      const constants = Object.values(DATASOURCE_UID) as string[];
      const uids = [...JSON.stringify([linked, datasources]).matchAll(/"datasourceUid":"([^"]+)"/g)].map((m) => m[1]);
      expect(uids.length).toBeGreaterThanOrEqual(6);
      for (const uid of uids) expect(constants, uid).toContain(uid);
    });
  });

  describe('Grafana macros in provisioned datasources', () => {
    it('are all escaped as $$, which provisioning turns back into $', () => {
      expect(datasourcesText).toContain('$${__tags}');
      expect([...datasourcesText.matchAll(UNESCAPED_MACRO)].map((m) => m.index)).toEqual([]);
    });

    it('fails when a macro has a single $', () => {
      for (const bad of ['rate(x{${__tags}}[5m])', 'rate(x{$__tags}[5m])', '{trace_id="${__trace.traceId}"}']) {
        expect(bad.match(UNESCAPED_MACRO), bad).not.toBeNull();
      }
      expect('$${__value.raw} and $$__tags'.match(UNESCAPED_MACRO)).toBeNull();
    });
  });
});

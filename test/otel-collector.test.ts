import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { OtelCollector, type OtelCollectorConfig } from '../charts/otel-collector.ts';
import { Endpoint } from '../charts/shared/endpoint.ts';
import { SignalTarget } from '../charts/shared/signal-target.ts';
import { stackService } from '../charts/shared/workload.ts';
import { parseValues } from '../charts/values.ts';
import { container, podSpec, render } from './support.ts';

/** A collector chart on its own, exporting to stand-in Tempo and Loki Services, with or without a logs endpoint. */
function standaloneCollector(options: { readonly withLogs: boolean }) {
  const app = Testing.app();
  const stores = new Chart(app, 'stores', { namespace: 'obs' });
  const service = (name: string, port: number) =>
    stackService(stores, name, { name, identity: { name, component: 'test', version: '1' }, ports: [{ name: 'api', port }] });
  const loki = Endpoint.fromService(service('loki', 3100), 3100, { scheme: 'http', path: '/otlp' });
  const collector = new OtelCollector(app, 'collector', {
    namespace: 'obs',
    ...parseValues(undefined).otelCollector,
    traces: SignalTarget.embedded(Endpoint.fromService(service('tempo', 4317), 4317, { scheme: 'grpc' })),
    logs: options.withLogs ? SignalTarget.embedded(loki) : undefined,
  });
  return { collector, loki, config: YAML.parse(collector.config.fileText('config.yaml')) as OtelCollectorConfig };
}

const PIPELINE_PARTS = ['receivers', 'processors', 'exporters'] as const;

describe('the OpenTelemetry Collector', () => {
  const r = render({ otelCollector: { otlpGrpcPort: 14317, otlpHttpPort: 14318, replicas: 2 } });
  const config: OtelCollectorConfig = r.configFile('otel-collector-config', 'config.yaml');
  const deployment = r.find('Deployment', 'otel-collector');
  const collector = container(deployment, 'otel-collector');
  const withLogs = standaloneCollector({ withLogs: true });
  const configs = { 'the stack': config, 'a collector given a logs endpoint': withLogs.config };

  for (const [name, c] of Object.entries(configs)) {
    it(`defines every component a pipeline names, and uses every receiver and exporter it defines (${name})`, () => {
      const pipelines = Object.values(c.service.pipelines);
      for (const part of PIPELINE_PARTS) {
        const used = new Set(pipelines.flatMap((p) => p[part]));
        for (const id of used) expect(Object.keys(c[part]), `${part} ${id}`).toContain(id);
        if (part !== 'processors') expect([...used].sort(), part).toEqual(Object.keys(c[part]).sort());
      }
      for (const id of c.service.extensions) expect(Object.keys(c.extensions)).toContain(id);
    });

    it(`limits memory before anything else and batches after adding Kubernetes metadata (${name})`, () => {
      for (const [signal, pipeline] of Object.entries(c.service.pipelines)) {
        expect(pipeline.processors, signal).toEqual(['memory_limiter', 'k8s_attributes', 'batch']);
      }
    });
  }

  it("exports traces to exactly the OTLP/gRPC endpoint Tempo publishes, and metrics to Prometheus's OTLP receiver", () => {
    expect(config.service.pipelines.traces.exporters).toEqual(['otlp_grpc/tempo']);
    expect(config.exporters['otlp_grpc/tempo']).toEqual({ endpoint: r.stack.tempo!.otlpGrpcEndpoint.hostPort, tls: { insecure: true } });
    expect(config.service.pipelines.metrics?.exporters).toEqual(['otlp_http/prometheus']);
    expect(config.exporters['otlp_http/prometheus']).toEqual({ endpoint: r.stack.prometheus.otlpEndpoints[0]!.url() });
  });

  it('renders no logs pipeline and no logs exporter while no logs endpoint is given', () => {
    const withoutLogs = standaloneCollector({ withLogs: false }).config;
    expect(withoutLogs.service.pipelines.logs).toBeUndefined();
    expect(Object.keys(withoutLogs.exporters).filter((id) => id.endsWith('/loki'))).toEqual([]);
  });

  it('ships logs to the OTLP base URL of the logs endpoint it is given', () => {
    expect(withLogs.config.service.pipelines.logs?.exporters).toEqual(['otlp_http/loki']);
    expect(withLogs.config.exporters['otlp_http/loki']).toEqual({ endpoint: withLogs.loki.url() });
    expect(withLogs.loki.url()).toBe('http://loki.obs.svc.cluster.local:3100/otlp');
    expect(withLogs.config.service.pipelines.metrics).toBeUndefined();
  });

  it('uses the current component names rather than their deprecated aliases', () => {
    const ids = [...Object.keys(config.processors), ...Object.keys(config.exporters)].map((id) => id.split('/')[0]);
    for (const alias of ['otlp', 'otlphttp', 'k8sattributes']) expect(ids).not.toContain(alias);
  });

  it('receives OTLP on 0.0.0.0 at the ports from values, which its Service exposes', () => {
    expect(config.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:14317' }, http: { endpoint: '0.0.0.0:14318' } });
    expect(r.find('Service', 'otel-collector').spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ['otlp-grpc', 14317],
      ['otlp-http', 14318],
    ]);
    expect(r.stack.otelCollector.otlpGrpcEndpoint.hostPort).toBe('otel-collector.sightline.svc.cluster.local:14317');
    expect(r.stack.otelCollector.otlpHttpEndpoint.url()).toBe('http://otel-collector.sightline.svc.cluster.local:14318');
  });

  it('keeps the memory limiter within a share of a container memory limit that is set, with GOMEMLIMIT below it', () => {
    expect(config.processors.memory_limiter).toEqual({ check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 15 });
    expect(collector.resources.limits.memory).toBe('512Mi');
    expect(collector.env).toContainEqual({ name: 'GOMEMLIMIT', value: '409MiB' });
  });

  it('answers probes from the health_check extension on 0.0.0.0:13133', () => {
    expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
    for (const probe of [collector.readinessProbe, collector.livenessProbe]) expect(probe.httpGet).toMatchObject({ path: '/', port: 13133 });
  });

  it('serves its internal metrics on 0.0.0.0:8888, where Prometheus scrapes each pod', () => {
    const [reader] = config.service.telemetry.metrics.readers;
    expect(reader?.pull.exporter.prometheus).toMatchObject({ host: '0.0.0.0', port: 8888 });
    expect(collector.ports).toContainEqual({ name: 'metrics', containerPort: 8888 });
    const job = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.find((j: any) => j.job_name === 'otel-collector');
    const [sd] = job.kubernetes_sd_configs;
    expect(sd.namespaces.names).toEqual(['sightline']);
    for (const term of sd.selectors[0].label.split(',')) {
      const [key, value] = term.split('=');
      expect(deployment.spec.template.metadata.labels[key], term).toBe(value);
    }
    expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'metrics' });
    // Labelled like every pod-by-pod job of the stack, so one dashboard query can split any of them by node.
    expect(job.relabel_configs.slice(1).map((c: any) => c.target_label)).toEqual(['namespace', 'pod', 'node']);
  });

  it('may read what k8s_attributes watches, with a token mounted for it', () => {
    const readable = new Set(
      r
        .find('ClusterRole', 'sightline-otel-collector')
        .rules.flatMap((rule: any) =>
          ['get', 'list', 'watch'].every((v) => rule.verbs.includes(v))
            ? rule.apiGroups.flatMap((g: string) => rule.resources.map((res: string) => `${g}/${res}`))
            : [],
        ),
    );
    expect(readable).toEqual(new Set(['/pods', '/namespaces', 'apps/replicasets']));
    expect(r.find('ClusterRoleBinding', 'sightline-otel-collector').subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'otel-collector', namespace: 'sightline' }),
    ]);
    expect(podSpec(deployment)).toMatchObject({ serviceAccountName: 'otel-collector', automountServiceAccountToken: true });
    expect(config.processors.k8s_attributes.auth_type).toBe('serviceAccount');
  });

  it('rolls out a stateless gateway one pod at a time without losing capacity', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('sends traces over OTLP/HTTP to a traces target that is an HTTP base URL', () => {
    const app = Testing.app();
    const tempo = stackService(new Chart(app, 'stores', { namespace: 'obs' }), 'tempo', {
      name: 'tempo',
      identity: { name: 'tempo', component: 'traces', version: '1' },
      ports: [{ name: 'otlp-http', port: 4318 }],
    });
    const http = Endpoint.fromService(tempo, 4318, { scheme: 'http' });
    const c = new OtelCollector(app, 'c', { namespace: 'obs', ...parseValues(undefined).otelCollector, traces: SignalTarget.embedded(http) });
    const config = YAML.parse(c.config.fileText('config.yaml')) as OtelCollectorConfig;
    expect(config.service.pipelines.traces.exporters).toEqual(['otlp_http/tempo']);
    expect(config.exporters['otlp_http/tempo']).toEqual({ endpoint: 'http://tempo.obs.svc.cluster.local:4318' });
  });
});

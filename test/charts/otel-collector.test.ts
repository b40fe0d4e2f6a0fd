import { describe, expect, it } from 'vitest';
import { OtelCollector } from '../../charts/otel-collector.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, RecordingMetricsHub, stubEndpoint, synthChart } from './alone.ts';
import { SignalTarget } from '../../charts/shared/signal-target.ts';

describe('the OpenTelemetry Collector, built alone', () => {
  const app = freshApp();
  const tracesEndpoint = stubEndpoint(app, 'tempo', 4317, { scheme: 'grpc' });
  const traces = SignalTarget.embedded(tracesEndpoint);
  const metrics = new RecordingMetricsHub();
  const c = synthChart(new OtelCollector(app, 'otel-collector', { namespace: 'obs', ...DEFAULTS.otelCollector, traces, metrics }));
  const deployment = c.find('Deployment', 'otel-collector');
  const config = c.configFile('otel-collector-config', 'config.yaml');

  it('receives OTLP through the otel-collector Service', () => {
    expectServes(c.find('Service', 'otel-collector'), deployment);
  });

  it('runs with the config it mounts, rolled by its checksum', () => {
    const dir = expectMountsConfig(deployment, 'otel-collector', c.find('ConfigMap', 'otel-collector-config'));
    expect(deployment.spec.template.spec.containers[0].args).toContain(`--config=${dir}/config.yaml`);
  });

  it('exports traces to the endpoint it was given, and runs no logs or metrics pipeline without their endpoints', () => {
    expect(Object.values(config.exporters)).toEqual([expect.objectContaining({ endpoint: tracesEndpoint.hostPort })]);
    expect(Object.keys(config.service.pipelines)).toEqual(['traces']);
  });

  it('contributes its scrape job and alerts to the metrics hub', () => {
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['otel-collector']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['otel-collector']);
  });
});

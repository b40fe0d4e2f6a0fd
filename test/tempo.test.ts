import { describe, expect, it } from 'vitest';
import { CONFIG_CHECKSUM_ANNOTATION } from '../charts/shared/workload.ts';
import { MAX_DURATION } from '../charts/values.ts';
import { container, environments, podSpec, render } from './support.ts';

/** Top-level blocks of Tempo 2.x that Tempo 3 refuses to start with. */
const REMOVED_IN_TEMPO_3 = ['ingester', 'ingester_client', 'compactor', 'metrics_generator_client'];

describe('Tempo', () => {
  const r = render({
    tempo: {
      blockRetention: '14d',
      compactedBlockRetention: '90m',
      maxBlockBytes: 5_000_000,
      maxBlockDuration: '10m',
      searchDurationSlo: '3s',
      storage: '20Gi',
    },
  });
  const config = r.configFile('tempo-config', 'tempo.yaml');
  const deployment = r.find('StatefulSet', 'tempo');
  const tempo = container(deployment, 'tempo');
  const service = r.find('Service', 'tempo');

  it('writes none of the 2.x blocks that Tempo 3 refuses, nor the removed local-blocks processor', () => {
    for (const block of REMOVED_IN_TEMPO_3) expect(Object.keys(config), block).not.toContain(block);
    expect(config.metrics_generator.processor?.local_blocks).toBeUndefined();
    expect(config.overrides.defaults.metrics_generator.processors).not.toContain('local-blocks');
  });

  it('puts the seed knobs on their Tempo 3 keys, in the duration syntax Tempo parses', () => {
    expect(config.live_store).toEqual({ max_block_bytes: 5_000_000, max_block_duration: '10m' });
    expect(config.backend_worker.compaction).toEqual({ block_retention: '336h', compacted_block_retention: '1h30m' });
    expect(config.query_frontend.search.duration_slo).toBe('3s');
  });

  it('writes the longest duration the values accept as Go prints its largest time.Duration, to the millisecond', () => {
    const longest = render({ tempo: { blockRetention: MAX_DURATION, searchDurationSlo: '1s500ms' } }).configFile('tempo-config', 'tempo.yaml');
    expect(longest.backend_worker.compaction.block_retention).toBe('2562047h47m16s854ms');
    expect(longest.query_frontend.search.duration_slo).toBe('1s500ms');
  });

  it('keeps the seed deployment defaults when values say nothing', () => {
    const defaults = render().configFile('tempo-config', 'tempo.yaml');
    // No max_block_bytes: Tempo's own default (50 MiB), not a development-sized 1 MB that cuts a backend block per MB.
    expect(defaults.live_store).toEqual({ max_block_duration: '5m' });
    expect(defaults.backend_worker.compaction).toEqual({ block_retention: '24h', compacted_block_retention: '1h' });
    expect(defaults.query_frontend.search.duration_slo).toBe('5s');
  });

  it("cuts blocks at Tempo's own size in every environment, unless values set one", () => {
    for (const [file, values] of environments().filter(([, v]) => v.tempo?.external === undefined)) {
      expect(render(values).configFile('tempo-config', 'tempo.yaml').live_store.max_block_bytes, file).toBeUndefined();
    }
    expect(render({ tempo: { maxBlockBytes: 1_000_000 } }).configFile('tempo-config', 'tempo.yaml').live_store.max_block_bytes).toBe(1_000_000);
  });

  it("lets the Go runtime size its heap from the container's memory limit", () => {
    // memory.automemlimit_enabled (Tempo 3.0.3, cmd/tempo/app/config.go) sets GOMEMLIMIT from the cgroup
    // limit at start; without it the garbage collector ignores the limit until the kernel kills the pod.
    expect(config.memory).toEqual({ automemlimit_enabled: true });
  });

  it('binds every receiver to 0.0.0.0 on a port its Service exposes', () => {
    const { otlp, jaeger, zipkin } = config.distributor.receivers;
    const endpoints = [...Object.values<any>(otlp.protocols), ...Object.values<any>(jaeger.protocols), zipkin].map((p) => p.endpoint as string);
    expect(endpoints).toHaveLength(7);
    const servicePorts = service.spec.ports.map((p: any) => p.port);
    for (const endpoint of endpoints) {
      const [host, port] = endpoint.split(':');
      expect(host, endpoint).toBe('0.0.0.0');
      expect(servicePorts, endpoint).toContain(Number(port));
    }
  });

  it('serves Jaeger compact and binary thrift over UDP, every other port over TCP', () => {
    const protocols = Object.fromEntries(service.spec.ports.map((p: any) => [p.port, p.protocol]));
    expect(protocols).toEqual({ 3200: 'TCP', 4317: 'TCP', 4318: 'TCP', 14250: 'TCP', 14268: 'TCP', 6831: 'UDP', 6832: 'UDP', 9411: 'TCP' });
    const udp = tempo.ports.filter((p: any) => p.protocol === 'UDP').map((p: any) => p.containerPort);
    expect(udp).toEqual([6831, 6832]);
  });

  it('generates the service graph and span metrics for every tenant, under the scoped overrides Tempo 3 requires', () => {
    expect(Object.keys(config.overrides)).toEqual(['defaults']);
    expect(config.overrides.defaults.metrics_generator.processors).toEqual(['service-graphs', 'span-metrics']);
  });

  it('remote-writes with exemplars to exactly the endpoint the Prometheus chart publishes', () => {
    expect(config.metrics_generator.storage.remote_write).toEqual([{ url: r.stack.prometheus.remoteWriteEndpoints[0]!.url(), send_exemplars: true }]);
  });

  it('streams search results over HTTP, reports no usage and runs monolithic', () => {
    expect(config.stream_over_http_enabled).toBe(true);
    expect(config.usage_report).toEqual({ reporting_enabled: false });
    expect(tempo.args).toContain('-target=all');
  });

  it('keeps WAL, blocks and the generator WAL on its claim, mounted by one pod at most, owned by the image user', () => {
    const onClaim = [config.storage.trace.wal.path, config.storage.trace.local.path, config.metrics_generator.storage.path];
    for (const path of onClaim) expect(path.startsWith('/var/tempo/'), path).toBe(true);
    expect(tempo.volumeMounts).toContainEqual({ mountPath: '/var/tempo', name: 'data' });
    expect(r.find('PersistentVolumeClaim', 'tempo-data').spec.resources.requests.storage).toBe('20Gi');
    expect(deployment.kind).toBe('StatefulSet');
    expect(podSpec(deployment).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'tempo-data' } });
    expect(podSpec(deployment).securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001, fsGroupChangePolicy: 'OnRootMismatch' });
  });

  it('probes /ready on the HTTP port, and gives a WAL replay time before liveness counts', () => {
    for (const probe of [tempo.readinessProbe, tempo.livenessProbe, tempo.startupProbe])
      expect(probe.httpGet).toMatchObject({ path: '/ready', port: 3200 });
    expect(tempo.startupProbe.failureThreshold * tempo.startupProbe.periodSeconds).toBeGreaterThanOrEqual(300);
  });

  it('is scraped by Prometheus through its published endpoint', () => {
    const jobs = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs;
    expect(jobs.find((j: any) => j.job_name === 'tempo').static_configs).toEqual([{ targets: [r.stack.tempo!.endpoint.hostPort] }]);
  });

  it('publishes its API and OTLP receivers from the tempo Service', () => {
    expect(r.stack.tempo!.endpoint.url()).toBe('http://tempo.sightline.svc.cluster.local:3200');
    expect(r.stack.tempo!.otlpGrpcEndpoint.hostPort).toBe('tempo.sightline.svc.cluster.local:4317');
    expect(r.stack.tempo!.otlpHttpEndpoint.url()).toBe('http://tempo.sightline.svc.cluster.local:4318');
  });

  it('rolls its pod when tempo.yaml changes', () => {
    const other = render({ tempo: { blockRetention: '48h' } }).find('StatefulSet', 'tempo');
    const checksum = (d: any) => d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    expect(checksum(deployment)).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(other)).not.toBe(checksum(deployment));
  });
});

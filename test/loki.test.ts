import { describe, expect, it } from 'vitest';
import type { PrometheusConfig } from '../charts/prometheus.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { bytes } from '../charts/shared/units.ts';
import { CONFIG_CHECKSUM_ANNOTATION } from '../charts/shared/workload.ts';
import { seconds } from '../charts/values.ts';
import { container, environments, podSpec, render, valueProblems } from './support.ts';

const lokiYaml = (r: ReturnType<typeof render>) => r.configFile('loki-config', 'loki.yaml');

describe('Loki', () => {
  it('keeps logs for the configured retention, enforced by the compactor with a delete request store', () => {
    const config = lokiYaml(render({ loki: { retention: '30d' } }));

    expect(config.limits_config.retention_period).toBe('30d');
    expect(config.compactor.retention_enabled).toBe(true);
    // Loki 3 refuses to start with retention enabled and no delete request store.
    expect(config.compactor.delete_request_store).toBe(config.schema_config.configs.at(-1).object_store);
  });

  it('bounds retention by default', () => {
    const config = lokiYaml(render());

    expect(config.compactor.retention_enabled).toBe(true);
    // 0s would mean "keep forever".
    expect(seconds(config.limits_config.retention_period)).toBeGreaterThanOrEqual(24 * 3600);
  });

  it('indexes with TSDB and schema v13 in 24h periods, accepts structured metadata (what OTLP logs carry) and serves the volume API of Logs Drilldown', () => {
    const config = lokiYaml(render());

    for (const period of config.schema_config.configs) {
      expect(period).toMatchObject({ store: 'tsdb', schema: 'v13', object_store: 'filesystem', index: { period: '24h' } });
    }
    expect(config.limits_config.allow_structured_metadata).toBe(true);
    expect(config.limits_config.volume_enabled).toBe(true);
    expect(config.auth_enabled).toBe(false);
  });

  it("keeps its data on a ReadWriteOnce claim, mounted by name by one pod at most and owned through the image user's fsGroup", () => {
    const r = render({ loki: { storage: '25Gi' } });
    const deployment = r.find('StatefulSet', 'loki');
    const claim = r.find('PersistentVolumeClaim', 'loki-data');
    const pod = podSpec(deployment);

    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec.resources.requests.storage).toBe('25Gi');
    expect(deployment.spec.replicas).toBe(1);
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'loki-data' } });
    expect(pod.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001, fsGroupChangePolicy: 'OnRootMismatch', runAsNonRoot: true });
    // Everything Loki writes goes below path_prefix, which must be the claim's mount.
    const volume = pod.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === 'loki-data');
    const mount = container(deployment, 'loki').volumeMounts.find((m: any) => m.name === volume.name);
    expect(lokiYaml(r).common.path_prefix).toBe(mount.mountPath);
    expect(lokiYaml(r).common.storage.filesystem.chunks_directory.startsWith(`${mount.mountPath}/`)).toBe(true);
  });

  it('writes only to its volume and a /tmp emptyDir, on a read-only root filesystem', () => {
    const deployment = render().find('StatefulSet', 'loki');
    const loki = container(deployment, 'loki');
    const volumes = Object.fromEntries(podSpec(deployment).volumes.map((v: any) => [v.name, v]));

    expect(loki.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const writable = loki.volumeMounts.filter((m: any) => !m.readOnly);
    expect(writable.map((m: any) => m.mountPath).sort()).toEqual(['/tmp', '/var/loki']);
    expect(volumes[writable.find((m: any) => m.mountPath === '/tmp').name].emptyDir).toBeDefined();
    expect(loki.args).toContain(
      `-config.file=${loki.volumeMounts.find((m: any) => volumes[m.name].configMap?.name === 'loki-config').mountPath}/loki.yaml`,
    );
  });

  it('takes traffic only once /ready answers, not before its 15s warm-up, and is not restarted for being unready', () => {
    const loki = container(render().find('StatefulSet', 'loki'), 'loki');

    expect(loki.readinessProbe.httpGet).toMatchObject({ path: '/ready', port: 3100 });
    expect(loki.readinessProbe.initialDelaySeconds).toBeGreaterThanOrEqual(15);
    expect(loki.livenessProbe.httpGet.path).not.toBe('/ready');
    expect(loki.livenessProbe.httpGet.port).toBe(3100);
  });

  it('replays its WAL within three quarters of its memory limit, flushing beyond, in every environment', () => {
    // Loki's default ceiling, 4GB, is above the default 2Gi limit: a large WAL replay would be OOM-killed on
    // every restart. Loki reads MB as 2^20 bytes.
    const ceiling = (values: Parameters<typeof render>[0]) =>
      render(values).configFile('loki-config', 'loki.yaml').ingester.wal.replay_memory_ceiling as string;
    expect(ceiling({})).toBe('1536MB');
    expect(ceiling({ loki: { resources: { limits: { memory: '8Gi' } } } })).toBe('6144MB');
    for (const [file, values] of environments().filter(([, v]) => v.loki?.external === undefined)) {
      const limit = render(values).find('StatefulSet', 'loki').spec.template.spec.containers[0].resources.limits.memory as string;
      expect(Number(ceiling(values).replace('MB', '')), file).toBeLessThan(bytes(limit) / 2 ** 20);
    }
  });

  it('states its replicas and resources from values', () => {
    const deployment = render({
      loki: { replicas: 0, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '3', memory: '4Gi' } } },
    }).find('StatefulSet', 'loki');

    expect(deployment.spec.replicas).toBe(0);
    expect(container(deployment, 'loki').resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '3', memory: '4Gi' },
    });
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
  });

  it('rolls its pod when loki.yaml changes', () => {
    const checksum = (retention: string) =>
      render({ loki: { retention } }).find('StatefulSet', 'loki').spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];

    expect(checksum('7d')).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum('7d')).not.toBe(checksum('14d'));
  });

  it('publishes its query, push and OTLP endpoints on the port its Service serves', () => {
    const r = render();
    const loki = r.stack.loki!;
    const service = r.find('Service', loki.endpoint.serviceName, loki.endpoint.namespace);

    expect(service.spec.ports.map((p: any) => p.port)).toContain(loki.endpoint.port);
    expect(loki.pushEndpoint.url()).toBe(loki.endpoint.url('/loki/api/v1/push'));
    // OTLP exporters append /v1/logs to the base they are given; Loki serves OTLP logs at /otlp/v1/logs.
    expect(loki.otlpEndpoint.url('/v1/logs')).toBe(loki.endpoint.url('/otlp/v1/logs'));
  });

  it("receives the OpenTelemetry Collector's logs pipeline at exactly its OTLP endpoint", () => {
    const r = render();
    const config = r.configFile('otel-collector-config', 'config.yaml');
    const [exporter] = config.service.pipelines.logs.exporters;

    expect(config.exporters[exporter]).toEqual({ endpoint: r.stack.loki!.otlpEndpoint.url() });
  });

  it('is scraped by Prometheus at the address its Service serves', () => {
    const r = render();
    const { stack } = r;

    const job = (r.configFile('prometheus-config', 'prometheus.yml') as PrometheusConfig).scrape_configs.find((j) => j.job_name === 'loki');
    expect(job?.static_configs?.[0]?.targets).toEqual([stack.loki!.endpoint.hostPort]);
  });
});

describe("Grafana's Loki datasource", () => {
  const datasource = (r = render()) =>
    r.configFile('grafana-datasources', 'datasources.yaml').datasources.find((d: any) => d.uid === DATASOURCE_UID.loki);

  it('queries the URL Loki serves', () => {
    const r = render();

    expect(datasource(r)).toMatchObject({ type: 'loki', url: r.stack.loki!.endpoint.url() });
  });

  it('links every log line to its trace through the Tempo datasource uid, with the macro escaped for provisioning', () => {
    const fields = datasource().jsonData.derivedFields;

    expect(fields.length).toBe(2);
    for (const field of fields) {
      expect(field.datasourceUid).toBe(DATASOURCE_UID.tempo);
      // Grafana expands ${...} in provisioning files: $$ leaves its own macro in place.
      expect(field.url).toBe('$${__value.raw}');
    }
    const text = render().find('ConfigMap', 'grafana-datasources').data['datasources.yaml'];
    expect(text).not.toMatch(/(?<!\$)\$\{__value/);
  });

  it('finds the trace id in a trace_id label or structured-metadata field', () => {
    const byLabel = datasource().jsonData.derivedFields.filter((f: any) => f.matcherType === 'label');

    expect(byLabel.map((f: any) => f.matcherRegex)).toEqual(['trace_id']);
  });

  it('finds the trace id inside JSON and logfmt log lines, and nothing in similar names', () => {
    const [byLine] = datasource().jsonData.derivedFields.filter((f: any) => f.matcherType === 'regex');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const find = (line: string) => new RegExp(byLine.matcherRegex).exec(line)?.[1];

    expect(find(`{"level":"info","msg":"GET /","trace_id":"${traceId}","span_id":"00f067aa0ba902b7"}`)).toBe(traceId);
    expect(find(`{"trace_id": "${traceId}"}`)).toBe(traceId);
    expect(find(`level=info msg="GET /" trace_id=${traceId}`)).toBe(traceId);
    expect(find(`{"parent_trace_id":"${traceId}"}`)).toBeUndefined();
    expect(find(`parent_trace_id=${traceId}`)).toBeUndefined();
  });
});

describe('Loki values', () => {
  const problems = (loki: unknown) => valueProblems({ loki });

  it('fails when loki.retention is shorter than the 24h the compactor can apply', () => {
    expect(problems({ retention: '12h' })).toEqual(['loki.retention: "12h" is shorter than 24h, the least retention Loki\'s compactor applies']);
  });

  it('fails when loki has a key it does not know', () => {
    expect(problems({ retentionPeriod: '7d' })[0]).toMatch(
      /^loki\.retentionPeriod: unknown key \(allowed here: retention, storage, objectStore, deletionMode, replicas, resources, external\)$/,
    );
  });
});

/**
 * The OpenTelemetry Collector built from the components the rendered config names (tools/components/otelcol),
 * running that config: `validate` passes for every folder, and started on dist/'s config (listeners on loopback,
 * Kubernetes attributes read from a test API server, exporters pointed at stand-ins), the demo's hello-app and
 * hello-backend, started with their Deployments' environment, send through it: their metrics arrive in a running
 * Prometheus 3.14 through its OTLP receiver, their traces at an OTLP/gRPC sink standing in for Tempo, and a log
 * record at an OTLP/HTTP sink standing in for Loki. Started on rendered/external's config, it sends logs and traces
 * to stand-ins for the external Loki and Tempo with their tenant and the credentials read from the mounted files.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { readInKubectlOrder, ROOT } from '../delivery.ts';
import type { K8sObject } from '../support.ts';
import {
  describeWithComponents,
  freePort,
  KUBERNETES_BINARIES,
  remapClusterHosts,
  stackFolders,
  start,
  startCluster,
  startPrometheus,
  stopAll,
  tempTree,
  waitFor,
  WAIT_TIMEOUT_MS,
  type Cluster,
  type RunningPrometheus,
  type Started,
} from './support.ts';
import { startGrpcSink, startHttpSink, type Sink } from './wire.ts';

const COLLECTOR = 'otelcol-sightline';
const HELLO_APP_MAIN = join(ROOT, 'services', 'hello-app', 'src', 'main.ts');
/** The demo's OpenTelemetry preload, which its image's ENTRYPOINT loads before the service. */
const HELLO_APP_REGISTER = join(ROOT, 'services', 'hello-app', 'src', 'register.ts');

/** The collector's Deployment, ConfigMap and config of a rendered folder. */
function collectorOf(objects: readonly K8sObject[]): { deployment: K8sObject; config: any; configText: string } {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'otel-collector')!;
  const volume = deployment['spec'].template.spec.volumes.find((v: any) => v.configMap !== undefined).configMap.name;
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume)!;
  const configText = configMap['data']['config.yaml'] as string;
  return { deployment, config: YAML.parse(configText), configText };
}

/** Moves a rendered config's listeners (receivers, health check, own metrics) to free ports on loopback. */
async function listenOnLoopback(config: any): Promise<{ readonly otlpHttp: number; readonly health: number }> {
  const [otlpGrpc, otlpHttp, health, telemetry] = [await freePort(), await freePort(), await freePort(), await freePort()];
  config.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${otlpGrpc}`;
  config.receivers.otlp.protocols.http.endpoint = `127.0.0.1:${otlpHttp}`;
  config.extensions.health_check.endpoint = `127.0.0.1:${health}`;
  Object.assign(config.service.telemetry.metrics.readers[0].pull.exporter.prometheus, { host: '127.0.0.1', port: telemetry });
  return { otlpHttp, health };
}

/** Starts the collector on `configFile` and waits until its health check on `health` answers. */
async function startHealthy(binary: string, configFile: string, health: number, env: Record<string, string>): Promise<Started> {
  const collector = start(binary, [`--config=${configFile}`], { env });
  await waitFor('the collector to be healthy', async () => {
    collector.assertRunning();
    const response = await fetch(`http://127.0.0.1:${health}/`).catch(() => undefined);
    return response?.status === 200 ? true : undefined;
  });
  return collector;
}

describeWithComponents('the OpenTelemetry Collector on the rendered config', [COLLECTOR], (bin) => {
  describe.each(stackFolders())('%s', (folder) => {
    it('passes otelcol validate', () => {
      const tree = tempTree('sightline-otelcol-');
      try {
        const file = tree.file('config.yaml', collectorOf(readInKubectlOrder(join(ROOT, folder)).map((a) => a.object)).configText);
        const result = spawnSync(bin(COLLECTOR), ['validate', `--config=${file}`], { encoding: 'utf8' });

        expect(result.status, result.stdout + result.stderr).toBe(0);
      } finally {
        tree.remove();
      }
    });
  });
});

describeWithComponents('telemetry of the demo through the collector', [COLLECTOR, 'prometheus', ...KUBERNETES_BINARIES], (bin) => {
  const objects = readInKubectlOrder(join(ROOT, 'dist')).map((a) => a.object);
  const tree = tempTree('sightline-otelcol-run-');
  let cluster: Cluster;
  let prometheus: RunningPrometheus;
  let tempo: Sink;
  let loki: Sink;
  let otlpHttp: number;
  let frontendPort: number;
  /** The pod IP each demo role reports, which the Kubernetes attributes processor looks up. */
  const podIps: Record<string, string> = { 'hello-app': '10.244.0.11', 'hello-backend': '10.244.0.12' };

  beforeAll(async () => {
    cluster = await startCluster(bin);
    prometheus = await startPrometheus(bin, objects, cluster);
    tempo = await startGrpcSink();
    loki = await startHttpSink();

    const { deployment, config } = collectorOf(objects);
    const service = deployment['spec'].template.spec.containers[0];
    // Listeners on loopback; exporters at the stand-ins; `kubeConfig` instead of the pod's service account.
    const listeners = await listenOnLoopback(config);
    otlpHttp = listeners.otlpHttp;
    config.processors.k8s_attributes.auth_type = 'kubeConfig';
    const running = remapClusterHosts(config, {
      'tempo.sightline.svc.cluster.local:4317': `127.0.0.1:${tempo.port}`,
      'loki.sightline.svc.cluster.local:3100': `127.0.0.1:${loki.port}`,
      'prometheus.sightline.svc.cluster.local:9090': new URL(prometheus.url).host,
    });
    const configArg = (service.args as string[]).find((a) => a.startsWith('--config='))!;
    const configFile = tree.file(configArg.slice('--config='.length), YAML.stringify(running));
    const env = Object.fromEntries((service.env ?? []).filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    await startHealthy(bin(COLLECTOR), configFile, listeners.health, { ...env, KUBECONFIG: cluster.kubeconfig });

    // The demo's Pods as the API server would know them once scheduled: created from the rendered templates,
    // with the pod IP the kubelet would report.
    const workloads = objects.filter((o) => o.kind === 'Deployment' && o.metadata.name in podIps);
    cluster.kubectl(['apply', '-f', join(ROOT, 'dist', '0000-namespace.k8s.yaml')]);
    cluster.kubectl(['-n', 'sightline', 'create', 'serviceaccount', 'default']);
    for (const workload of workloads) {
      const name = `${workload.metadata.name}-test`;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: workload.metadata.namespace, labels: workload['spec'].template.metadata.labels },
        spec: workload['spec'].template.spec,
      };
      const created = cluster.kubectl(['create', '-f', '-'], JSON.stringify(pod));
      if (created.status !== 0) throw new Error(`creating pod ${name}: ${created.stderr}`);
      const ip = podIps[workload.metadata.name]!;
      const status = { status: { podIP: ip, podIPs: [{ ip }], phase: 'Running', startTime: new Date().toISOString() } };
      const patched = cluster.kubectl([
        '-n',
        workload.metadata.namespace!,
        'patch',
        'pod',
        name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]);
      if (patched.status !== 0) throw new Error(`setting the IP of pod ${name}: ${patched.stderr}`);
    }

    // Both roles with their Deployments' environment, the downward API filled in as the kubelet would.
    const backendPort = await freePort();
    frontendPort = await freePort();
    const ports: Record<string, number> = { 'hello-backend': backendPort, 'hello-app': frontendPort };
    const backendService = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'hello-backend')!;
    const overrides = {
      'otel-collector.sightline.svc.cluster.local:4318': `127.0.0.1:${otlpHttp}`,
      [`hello-backend.sightline.svc.cluster.local:${backendService['spec'].ports[0].port}`]: `127.0.0.1:${backendPort}`,
    };
    for (const name of ['hello-backend', 'hello-app']) {
      const workload = workloads.find((w) => w.metadata.name === name)!;
      const downward: Record<string, string> = {
        'metadata.namespace': workload.metadata.namespace!,
        'metadata.name': `${name}-test`,
        'spec.nodeName': 'node-1',
        'status.podIP': podIps[name]!,
      };
      const env: Record<string, string> = {};
      for (const e of workload['spec'].template.spec.containers[0].env as any[]) {
        const raw = e.value ?? downward[e.valueFrom?.fieldRef?.fieldPath];
        if (raw === undefined) throw new Error(`${name}: env ${e.name} comes from ${JSON.stringify(e.valueFrom)}, which this test does not fill in`);
        env[e.name] = remapClusterHosts(raw as string, overrides).replace(/\$\((\w+)\)/g, (_, ref: string) => env[ref] ?? `$(${ref})`);
      }
      // Only the export cadences are shortened, so that a test need not wait a minute for metrics.
      Object.assign(env, { PORT: String(ports[name]), OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_BSP_SCHEDULE_DELAY: '200' });
      const role = start(process.execPath, ['--import', HELLO_APP_REGISTER, HELLO_APP_MAIN], { env });
      await waitFor(`${name} to answer /healthz`, async () => {
        role.assertRunning();
        const response = await fetch(`http://127.0.0.1:${ports[name]}/healthz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      });
    }
  }, 3 * WAIT_TIMEOUT_MS);

  afterAll(async () => {
    await stopAll();
    await cluster?.stop();
    await tempo?.close();
    await loki?.close();
    prometheus?.layout.remove();
    tree.remove();
  }, WAIT_TIMEOUT_MS);

  it('delivers the trace of a request through both services to the Tempo stand-in', async () => {
    const body = (await fetch(`http://127.0.0.1:${frontendPort}/`).then((r) => r.json())) as { trace_id: string };
    const traceId = Buffer.from(body.trace_id, 'hex');

    const exports = await waitFor('the trace at the Tempo stand-in', () => {
      const withTrace = tempo.received.filter((r) => r.body.includes(traceId));
      const services = ['hello-app', 'hello-backend'].filter((s) => withTrace.some((r) => r.body.includes(s)));
      return services.length === 2 ? withTrace : undefined;
    });

    expect(exports.every((r) => r.path === '/opentelemetry.proto.collector.trace.v1.TraceService/Export')).toBe(true);
  });

  it("delivers both services' metrics to Prometheus through its OTLP receiver, with the Kubernetes attributes of their pods", async () => {
    await fetch(`http://127.0.0.1:${frontendPort}/`);

    for (const service of ['hello-app', 'hello-backend']) {
      // service.name and the pod's attributes are labels of every series: the rendered prometheus.yml promotes them.
      const names = await waitFor(`metrics of ${service} in Prometheus`, async () => {
        const result = await prometheus.query(`group by (__name__) ({service_name="${service}", k8s_pod_name="${service}-test"})`);
        return result?.some((r) => r.metric.__name__.startsWith('http_server_request_duration')) ? result.map((r) => r.metric.__name__) : undefined;
      });
      expect(names).toContain('target_info');
      // k8s.pod.uid is not in the service's resource: only the processor, asking the API server, can have added it.
      const info = await prometheus.query(`target_info{service_name="${service}"}`);
      const uid = cluster.kubectl(['-n', 'sightline', 'get', 'pod', `${service}-test`, '-o', 'jsonpath={.metadata.uid}']).stdout;
      expect(info?.[0]?.metric).toMatchObject({ k8s_pod_name: `${service}-test`, k8s_namespace_name: 'sightline', k8s_pod_uid: uid });
    }
  });

  it('delivers a log record to the Loki stand-in', async () => {
    const marker = `component-test-${Date.now()}`;
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hello-app' } }] },
          scopeLogs: [{ logRecords: [{ timeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`, severityText: 'INFO', body: { stringValue: marker } }] }],
        },
      ],
    };

    const response = await fetch(`http://127.0.0.1:${otlpHttp}/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
    });

    expect(response.status).toBe(200);
    const received = await waitFor('the log record at the Loki stand-in', () => loki.received.find((r) => r.body.includes(marker)));
    expect(received.path).toBe('/otlp/v1/logs');
  });
});

describeWithComponents('the collector writing to external backends (rendered/external)', [COLLECTOR], (bin) => {
  const objects = readInKubectlOrder(join(ROOT, 'rendered', 'external')).map((a) => a.object);
  const tree = tempTree('sightline-otelcol-external-');
  const PASSWORD = 'loki-password-from-the-secret';
  const TOKEN = 'tempo-token-from-the-secret';
  let loki: Sink;
  let tempo: Sink;
  let otlpHttp: number;
  let rendered: any;

  beforeAll(async () => {
    loki = await startHttpSink();
    tempo = await startHttpSink();
    const { deployment, config } = collectorOf(objects);
    rendered = structuredClone(config);
    const listeners = await listenOnLoopback(config);
    otlpHttp = listeners.otlpHttp;
    // What is under test is the exporters and their authenticators: no API server for the Kubernetes attributes.
    delete config.processors.k8s_attributes;
    for (const pipeline of Object.values<any>(config.service.pipelines)) {
      pipeline.processors = pipeline.processors.filter((p: string) => p !== 'k8s_attributes');
    }
    // The external URLs at the stand-ins (plain HTTP on loopback), the paths kept.
    const at = (url: string, sink: Sink) => `http://127.0.0.1:${sink.port}${new URL(url).pathname.replace(/\/$/, '')}`;
    config.exporters['otlp_http/loki'].endpoint = at(config.exporters['otlp_http/loki'].endpoint, loki);
    config.exporters['otlp_http/tempo'].endpoint = at(config.exporters['otlp_http/tempo'].endpoint, tempo);
    // The Secrets' files where the pod mounts them, under the temp tree.
    const volumes = deployment['spec'].template.spec.volumes as any[];
    const mounts = deployment['spec'].template.spec.containers[0].volumeMounts as any[];
    const secretOf = (file: string) =>
      volumes.find((v) => v.name === mounts.find((m) => m.mountPath === file.slice(0, file.lastIndexOf('/')))?.name)?.secret;
    const basic = config.extensions['basicauth/loki'].client_auth;
    const bearer = config.extensions['bearertokenauth/tempo'];
    expect(secretOf(basic.password_file)?.secretName).toBe('loki-credentials');
    expect(secretOf(bearer.filename)?.secretName).toBe('tempo-credentials');
    basic.password_file = tree.file(basic.password_file, PASSWORD);
    bearer.filename = tree.file(bearer.filename, TOKEN);
    const running = remapClusterHosts(config, {});
    await startHealthy(bin(COLLECTOR), tree.file('config.yaml', YAML.stringify(running)), listeners.health, {});
  }, WAIT_TIMEOUT_MS);

  afterAll(async () => {
    await stopAll();
    await loki?.close();
    await tempo?.close();
    tree.remove();
  }, WAIT_TIMEOUT_MS);

  const post = (signal: 'logs' | 'traces', body: object) =>
    fetch(`http://127.0.0.1:${otlpHttp}/v1/${signal}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'external-test' } }] };

  it("sends logs to the external Loki's OTLP path with its tenant and basic auth from the password file", async () => {
    const marker = `external-log-${Date.now()}`;
    const now = `${BigInt(Date.now()) * 1_000_000n}`;
    const response = await post('logs', {
      resourceLogs: [{ resource, scopeLogs: [{ logRecords: [{ timeUnixNano: now, body: { stringValue: marker } }] }] }],
    });

    expect(response.status).toBe(200);
    const received = await waitFor('the log record at the external Loki stand-in', () => loki.received.find((r) => r.body.includes(marker)));
    expect(received.path).toBe('/otlp/v1/logs');
    expect(received.headers?.['x-scope-orgid']).toBe(rendered.exporters['otlp_http/loki'].headers['X-Scope-OrgID']);
    const username = rendered.extensions['basicauth/loki'].client_auth.username;
    expect(received.headers?.authorization).toBe(`Basic ${Buffer.from(`${username}:${PASSWORD}`).toString('base64')}`);
  });

  it('sends traces to the external Tempo over OTLP/HTTP with its tenant and the bearer token from the token file', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c';
    const now = BigInt(Date.now()) * 1_000_000n;
    const span = {
      traceId,
      spanId: 'eee19b7ec3c1b174',
      name: 'external-test',
      kind: 2,
      startTimeUnixNano: `${now}`,
      endTimeUnixNano: `${now + 1_000_000n}`,
    };
    const response = await post('traces', { resourceSpans: [{ resource, scopeSpans: [{ spans: [span] }] }] });

    expect(response.status).toBe(200);
    const received = await waitFor('the span at the external Tempo stand-in', () =>
      tempo.received.find((r) => r.body.includes(Buffer.from(traceId, 'hex'))),
    );
    expect(received.path).toBe('/v1/traces');
    expect(received.headers?.['x-scope-orgid']).toBe(rendered.exporters['otlp_http/tempo'].headers['X-Scope-OrgID']);
    expect(received.headers?.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

import { describe, expect, it } from 'vitest';
import { container, podSpec, render } from './support.ts';

describe('hello-app', () => {
  const r = render({ helloApp: { image: { repository: 'registry.example.com/hello-app', tag: '1.2.3' }, replicas: 2 } });
  const frontend = r.find('Deployment', 'hello-app');
  const backend = r.find('Deployment', 'hello-backend');
  const env = (d: any) => Object.fromEntries(container(d, 'hello-app').env.map((e: any) => [e.name, e]));

  it('exports telemetry to the collector endpoint, taken from the collector chart', () => {
    for (const d of [frontend, backend]) {
      expect(env(d).OTEL_EXPORTER_OTLP_ENDPOINT.value).toBe(r.stack.otelCollector.otlpHttpEndpoint.url());
      expect(env(d).OTEL_EXPORTER_OTLP_PROTOCOL.value).toBe('http/protobuf');
    }
  });

  it('runs the two roles as services hello-app and hello-backend, the frontend calling the backend', () => {
    expect(env(frontend).OTEL_SERVICE_NAME.value).toBe('hello-app');
    expect(env(backend).OTEL_SERVICE_NAME.value).toBe('hello-backend');
    expect(env(frontend).ROLE.value).toBe('frontend');
    expect(env(backend).ROLE.value).toBe('backend');
    expect(env(frontend).BACKEND_URL.value).toBe(r.stack.helloApp!.backendEndpoint.url());
    expect(r.find('Service', 'hello-app').spec.ports).toEqual([expect.objectContaining({ port: 5001 })]);
  });

  it('puts pod ip, namespace and node from the downward API into the resource attributes, defined before use', () => {
    const vars = container(frontend, 'hello-app').env.map((e: any) => e.name);
    const attributes = env(frontend).OTEL_RESOURCE_ATTRIBUTES.value as string;
    for (const [attribute, variable, fieldPath] of [
      ['k8s.pod.ip', 'K8S_POD_IP', 'status.podIP'],
      ['k8s.namespace.name', 'K8S_NAMESPACE_NAME', 'metadata.namespace'],
      ['k8s.node.name', 'K8S_NODE_NAME', 'spec.nodeName'],
    ]) {
      expect(attributes).toContain(`${attribute}=$(${variable})`);
      expect(env(frontend)[variable!].valueFrom.fieldRef.fieldPath).toBe(fieldPath);
      expect(vars.indexOf(variable)).toBeLessThan(vars.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    }
  });

  it('runs the image and replicas from values, probed on /healthz, hardened', () => {
    const c = container(frontend, 'hello-app');
    expect(c.image).toBe('registry.example.com/hello-app:1.2.3');
    expect(frontend.spec.replicas).toBe(2);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port: 5001 });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 5001 });
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(podSpec(frontend).automountServiceAccountToken).toBe(false);
  });

  it("bounds the service's drain and final flush below the pod's grace period, so SIGKILL never cuts the flush", () => {
    for (const d of [frontend, backend]) {
      const gracePeriodMs = podSpec(d).terminationGracePeriodSeconds * 1000;
      expect(gracePeriodMs).toBe(30_000);
      const drainMs = Number(env(d).DRAIN_TIMEOUT_MS.value);
      const flushMs = Number(env(d).FLUSH_TIMEOUT_MS.value);
      // The drain must let the longest request a caller may ask for (delay_ms=10000) finish.
      expect(drainMs).toBeGreaterThan(10_000);
      expect(flushMs).toBeGreaterThan(0);
      expect(drainMs + flushMs).toBeLessThan(gracePeriodMs);
    }
  });

  it('is not rendered when switched off', () => {
    const off = render({ helloApp: { enabled: false } });
    expect(off.objects.filter((o) => o.metadata.name.startsWith('hello-'))).toEqual([]);
    expect(off.stack.helloApp).toBeUndefined();
  });
});

import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { ConfigFiles } from '../charts/shared/config-file.ts';
import { Endpoint } from '../charts/shared/endpoint.ts';
import { stackService } from '../charts/shared/workload.ts';
import { imageVersion, recommendedLabels, selectorLabels } from '../charts/shared/labels.ts';
import { render } from './support.ts';

describe('Endpoint', () => {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'obs' });
  const service = stackService(chart, 'svc', {
    name: 'loki',
    identity: { name: 'loki', component: 'logs', version: '1' },
    ports: [{ name: 'http', port: 3100 }],
  });

  it('addresses a Service port by its cluster DNS name', () => {
    const endpoint = Endpoint.fromService(service, 3100, { scheme: 'http', path: '/loki' });
    expect(endpoint.hostPort).toBe('loki.obs.svc.cluster.local:3100');
    expect(endpoint.url('/api/v1/push')).toBe('http://loki.obs.svc.cluster.local:3100/loki/api/v1/push');
    expect(endpoint.withPath('/otlp').url()).toBe('http://loki.obs.svc.cluster.local:3100/loki/otlp');
  });

  it('fails when the Service was not built by stackService, since the pods behind it are unknown to policies', () => {
    const bare = new kplus.Service(chart, 'bare', { metadata: { name: 'bare' }, ports: [{ port: 80 }] });
    expect(() => Endpoint.fromService(bare, 80, { scheme: 'http' })).toThrow(/was not built by stackService/);
  });

  it('names the pods behind the Service and the port they listen on, for network policies', () => {
    const endpoint = Endpoint.fromService(service, 3100, { scheme: 'http' }).withPath('/otlp');
    expect(endpoint.pods).toEqual({ namespace: 'obs', labels: { 'app.kubernetes.io/name': 'loki', 'app.kubernetes.io/instance': 'loki' } });
    expect(endpoint.podPort).toEqual({ port: 3100, protocol: 'TCP' });
  });

  it('fails when the Service does not expose the port', () => {
    expect(() => Endpoint.fromService(service, 9095, { scheme: 'grpc' })).toThrow(/exposes no port 9095/);
  });

  it('fails when a gRPC endpoint is asked for a URL', () => {
    expect(() => Endpoint.fromService(service, 3100, { scheme: 'grpc' }).url()).toThrow(/gRPC endpoint/);
  });
});

describe('ConfigFiles', () => {
  it('serializes data as YAML without null lines, and checksums the content', () => {
    const chart = new Chart(new App(), 'test');
    const files = new ConfigFiles(chart, 'c', { name: 'x', files: { 'a.yaml': { keep: 1, drop: undefined }, 'raw.txt': 'text' } });
    expect(files.fileText('a.yaml')).toBe('keep: 1\n');
    expect(files.fileText('raw.txt')).toBe('text');
    const [configMap] = Testing.synth(chart);
    expect(configMap.data).toEqual({ 'a.yaml': 'keep: 1\n', 'raw.txt': 'text' });
  });

  it('renders a producer at synth time, after later contributions', () => {
    const chart = new Chart(new App(), 'test');
    const items: string[] = [];
    new ConfigFiles(chart, 'c', { name: 'x', files: { 'list.yaml': () => ({ items }) } });
    items.push('late');
    expect(Testing.synth(chart)[0].data['list.yaml']).toBe('items:\n  - late\n');
  });
});

describe('labels', () => {
  const id = { name: 'tempo', component: 'traces', version: '3.0.3' };

  it('select on name and instance only, never on the version', () => {
    expect(selectorLabels(id)).toEqual({ 'app.kubernetes.io/name': 'tempo', 'app.kubernetes.io/instance': 'tempo' });
    expect(recommendedLabels(id)).toMatchObject({ 'app.kubernetes.io/version': '3.0.3', 'app.kubernetes.io/part-of': 'sightline' });
  });

  it('take the version from the image tag', () => {
    expect(imageVersion('docker.io/prom/prometheus:v3.14.0')).toBe('3.14.0');
    expect(imageVersion('docker.io/grafana/grafana:13.2.0')).toBe('13.2.0');
  });
});

describe('the stack namespace', () => {
  it('enforces Pod Security "restricted"', () => {
    const ns = render({ namespace: 'obs' }).find('Namespace', 'obs');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { CONFIG_CHECKSUM_ANNOTATION } from '../charts/shared/workload.ts';
import { container, podSpec, render } from './support.ts';

describe('Prometheus', () => {
  const r = render({ clusterName: 'lab', prometheus: { retention: '30d', retentionSize: '20GB', storage: '50Gi', scrapeInterval: '15s', scrapeTimeout: '5s' } });
  const config = r.configFile('prometheus-config', 'prometheus.yml');
  const deployment = r.find('Deployment', 'prometheus');
  const prometheus = container(deployment, 'prometheus');

  it('keeps the retention from values in the config file storage block', () => {
    expect(config.storage.tsdb.retention).toEqual({ time: '30d', size: '20GB' });
    expect(prometheus.args.some((a: string) => a.startsWith('--storage.tsdb.retention'))).toBe(false);
  });

  it('scrapes at the configured interval and labels everything with the cluster', () => {
    expect(config.global).toMatchObject({ scrape_interval: '15s', scrape_timeout: '5s', external_labels: { cluster: 'lab' } });
  });

  it('receives remote write and OTLP, and stores exemplars', () => {
    expect(prometheus.args).toEqual(expect.arrayContaining(['--web.enable-remote-write-receiver', '--web.enable-otlp-receiver', '--enable-feature=exemplar-storage']));
  });

  it('publishes its receivers on the Service port', () => {
    expect(r.stack.prometheus.remoteWriteEndpoint.url()).toBe('http://prometheus.sightline.svc.cluster.local:9090/api/v1/write');
    expect(r.stack.prometheus.otlpEndpoint.url()).toBe('http://prometheus.sightline.svc.cluster.local:9090/api/v1/otlp');
  });

  it('scrapes itself and Grafana through their published endpoints, and annotated pods', () => {
    const jobs = Object.fromEntries(config.scrape_configs.map((j: any) => [j.job_name, j]));
    expect(jobs.prometheus.static_configs[0].targets).toEqual([r.stack.prometheus.endpoint.hostPort]);
    expect(jobs.grafana.static_configs[0].targets).toEqual([r.stack.grafana.endpoint.hostPort]);
    const pods = jobs['kubernetes-pods'];
    expect(pods.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    expect(pods.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' });
  });

  it('rejects a second scrape job of the same name', () => {
    expect(() => r.stack.prometheus.addScrapeJob({ job_name: 'grafana' })).toThrow(/already has a scrape job named "grafana"/);
  });

  it('probes health and readiness, and gives a WAL replay time to finish', () => {
    expect(prometheus.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(prometheus.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(prometheus.startupProbe.failureThreshold * prometheus.startupProbe.periodSeconds).toBeGreaterThanOrEqual(600);
  });

  it('keeps its TSDB on a claim of the configured size, recreated rather than rolled', () => {
    expect(r.find('PersistentVolumeClaim', 'prometheus-data').spec.resources.requests.storage).toBe('50Gi');
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(prometheus.volumeMounts).toContainEqual({ mountPath: '/prometheus', name: 'data' });
    expect(podSpec(deployment).securityContext).toMatchObject({ fsGroup: 65534, fsGroupChangePolicy: 'OnRootMismatch', runAsNonRoot: true });
  });

  it('discovers targets with a service account that may only read', () => {
    expect(podSpec(deployment).serviceAccountName).toBe('prometheus');
    expect(podSpec(deployment).automountServiceAccountToken).toBe(true);
    const role = r.find('ClusterRole', 'sightline-prometheus');
    expect(new Set(role.rules.flatMap((rule: any) => rule.verbs))).toEqual(new Set(['get', 'list', 'watch']));
    const binding = r.find('ClusterRoleBinding', 'sightline-prometheus');
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'prometheus', namespace: 'sightline' })]);
  });

  it('rolls its pod when prometheus.yml changes', () => {
    const other = render({ prometheus: { scrapeInterval: '20s' } }).find('Deployment', 'prometheus');
    const checksum = (d: any) => d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    expect(checksum(deployment)).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(other)).not.toBe(checksum(deployment));
  });
});

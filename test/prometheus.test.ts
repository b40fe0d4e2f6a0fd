import { App, Duration, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { Prometheus } from '../charts/prometheus.ts';
import type { RuleGroup, StaticConfig } from '../charts/shared/scrape.ts';
import { CONFIG_CHECKSUM_ANNOTATION } from '../charts/shared/workload.ts';
import { parseValues } from '../charts/values.ts';
import { container, podSpec, render } from './support.ts';

describe('Prometheus', () => {
  const r = render({
    clusterName: 'lab',
    prometheus: { retention: '30d', retentionSize: '20GB', storage: '50Gi', scrapeInterval: '15s', scrapeTimeout: '5s' },
  });
  const config = r.configFile('prometheus-config', 'prometheus.yml');
  const deployment = r.find('StatefulSet', 'prometheus');
  const prometheus = container(deployment, 'prometheus');

  it('keeps the retention from values in the config file storage block', () => {
    expect(config.storage.tsdb.retention).toEqual({ time: '30d', size: '20GB' });
    expect(prometheus.args.some((a: string) => a.startsWith('--storage.tsdb.retention'))).toBe(false);
  });

  it('scrapes at the configured interval and labels everything with the cluster', () => {
    expect(config.global).toMatchObject({ scrape_interval: '15s', scrape_timeout: '5s', external_labels: { cluster: 'lab' } });
  });

  it('receives remote write and OTLP, and stores exemplars', () => {
    expect(prometheus.args).toEqual(
      expect.arrayContaining(['--web.enable-remote-write-receiver', '--web.enable-otlp-receiver', '--enable-feature=exemplar-storage']),
    );
  });

  it('labels OTLP series with service_name and the pod and workload the collector names, not only target_info', () => {
    const promoted: string[] = config.otlp.promote_resource_attributes;
    const extracted: string[] = r.configFile('otel-collector-config', 'config.yaml').processors.k8s_attributes.extract.metadata;

    expect(promoted).toEqual(expect.arrayContaining(['service.name', 'service.namespace']));
    // target_info too: Prometheus otherwise leaves service.name off it (filed under job only).
    expect(config.otlp.keep_identifying_resource_attributes).toBe(true);
    // A promoted Kubernetes attribute the collector never adds would be a label no series carries.
    expect(promoted.filter((a) => a.startsWith('k8s.')).every((a) => extracted.includes(a))).toBe(true);
    // One series per pod restart: the uid and start time stay on target_info.
    expect(promoted).not.toContain('k8s.pod.uid');
    expect(promoted).not.toContain('k8s.pod.start_time');
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
    expect(pods.relabel_configs[0]).toEqual({
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
      action: 'keep',
      regex: 'true',
    });
  });

  it('rejects a second scrape job of the same name', () => {
    const fresh = new Prometheus(new App(), 'prometheus', {
      namespace: 'test',
      clusterName: 'test',
      ...parseValues({}, 'test values').prometheus,
      startupTimeout: Duration.minutes(10),
    });
    fresh.addScrapeJob({ job_name: 'grafana' });
    expect(() => fresh.addScrapeJob({ job_name: 'grafana' })).toThrow(/already has a scrape job named "grafana"/);
  });

  it('probes health and readiness, and gives a WAL replay time to finish', () => {
    expect(prometheus.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(prometheus.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(prometheus.startupProbe.failureThreshold * prometheus.startupProbe.periodSeconds).toBeGreaterThanOrEqual(600);
  });

  it('keeps its TSDB on a claim of the configured size, with one pod at most (a StatefulSet on the claim by name)', () => {
    expect(r.find('PersistentVolumeClaim', 'prometheus-data').spec.resources.requests.storage).toBe('50Gi');
    expect(deployment.kind).toBe('StatefulSet');
    expect(podSpec(deployment).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'prometheus-data' } });
    expect(prometheus.volumeMounts).toContainEqual({ mountPath: '/prometheus', name: 'data' });
    expect(podSpec(deployment).securityContext).toMatchObject({ fsGroup: 65534, fsGroupChangePolicy: 'OnRootMismatch', runAsNonRoot: true });
  });

  it('discovers targets with a service account that may only read', () => {
    expect(podSpec(deployment).serviceAccountName).toBe('prometheus');
    expect(podSpec(deployment).automountServiceAccountToken).toBe(true);
    const role = r.find('ClusterRole', 'sightline-prometheus');
    // Read verbs only: list and watch for discovery, get for the kubelets' /metrics.
    expect(new Set(role.rules.flatMap((rule: any) => rule.verbs))).toEqual(new Set(['list', 'watch', 'get']));
    const binding = r.find('ClusterRoleBinding', 'sightline-prometheus');
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'prometheus', namespace: 'sightline' })]);
  });

  it("scrapes each kubelet for the volume statistics of the stack's own claims, with nodes/metrics and not nodes/proxy", () => {
    const kubelet = config.scrape_configs.find((j: any) => j.job_name === 'kubelet');
    const rules = r.find('ClusterRole', 'sightline-prometheus').rules;
    const allowed = (resource: string, verb: string) => rules.some((rule: any) => rule.resources?.includes(resource) && rule.verbs.includes(verb));

    expect(kubelet).toMatchObject({
      scheme: 'https',
      kubernetes_sd_configs: [{ role: 'node' }],
      authorization: { credentials_file: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    });
    expect(kubelet.metric_relabel_configs).toEqual([
      { source_labels: ['__name__'], action: 'keep', regex: 'kubelet_volume_stats_(available|capacity)_bytes' },
      { source_labels: ['namespace'], action: 'keep', regex: 'sightline' },
    ]);
    expect(allowed('nodes/metrics', 'get')).toBe(true);
    expect(allowed('nodes', 'list')).toBe(true);
    expect(rules.some((rule: any) => rule.resources?.includes('nodes/proxy'))).toBe(false);
    expect(podSpec(deployment).automountServiceAccountToken).toBe(true);
  });

  it('rolls its pod when prometheus.yml changes', () => {
    const other = render({ prometheus: { scrapeInterval: '20s' } }).find('StatefulSet', 'prometheus');
    const checksum = (d: any) => d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
    expect(checksum(deployment)).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(other)).not.toBe(checksum(deployment));
  });
});

describe('Prometheus rule hub', () => {
  const values = parseValues({}, 'test values');
  const example: RuleGroup = { name: 'example', rules: [{ alert: 'ExampleDown', expr: 'up == 0', for: '5m', labels: { severity: 'warning' } }] };

  /** A Prometheus alone with some rule groups, synthesized. */
  function withRules(...groups: RuleGroup[]) {
    const prometheus = new Prometheus(new App(), 'prometheus', {
      namespace: 'test',
      clusterName: 'test',
      ...values.prometheus,
      startupTimeout: Duration.minutes(10),
    });
    for (const group of groups) prometheus.addRuleGroup(group);
    const objects = Testing.synth(prometheus);
    const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
    return { prometheus, find, statefulSet: find('StatefulSet', 'prometheus') };
  }

  it('loads the contributed groups from a rule file in its own ConfigMap, mounted read-only where rule_files points', () => {
    const { find, statefulSet: deployment } = withRules(example);
    const config = YAML.parse(find('ConfigMap', 'prometheus-config').data['prometheus.yml']);
    const rulesVolume = podSpec(deployment).volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === 'prometheus-rules');
    const mount = container(deployment, 'prometheus').volumeMounts.find((m: { name: string }) => m.name === rulesVolume.name);

    expect(config.rule_files).toEqual([`${mount.mountPath}/rules.yaml`]);
    expect(mount.readOnly).toBe(true);
    expect(YAML.parse(find('ConfigMap', 'prometheus-rules').data['rules.yaml']).groups.filter((g: RuleGroup) => g.name === example.name)).toEqual([
      example,
    ]);
  });

  it('renders only its own alerts (on itself and on the volumes of its namespace) when no component contributes rules', () => {
    const { groups } = YAML.parse(withRules().find('ConfigMap', 'prometheus-rules').data['rules.yaml']);
    expect(groups.map((g: RuleGroup) => g.name)).toEqual(['prometheus', 'volumes']);
    expect(groups[1].rules[0].expr).toContain('namespace="test"');
  });

  it('alerts on sending alerts only when it has Alertmanagers to send them to', () => {
    const alertNames = (file: string) => YAML.parse(file).groups[0].rules.map((rule: { alert: string }) => rule.alert);
    const bare = alertNames(withRules().find('ConfigMap', 'prometheus-rules').data['rules.yaml']);
    const sending = alertNames(render().find('ConfigMap', 'prometheus-rules').data['rules.yaml']);
    expect(bare).not.toContain('PrometheusNotificationErrors');
    expect(sending).toEqual(expect.arrayContaining(['PrometheusAlertmanagerNotFound', 'PrometheusNotificationErrors', 'PrometheusDroppingAlerts']));
  });

  it('rolls its pod when a rule changes', () => {
    const checksum = (group: RuleGroup) => withRules(group).statefulSet.spec.template.metadata.annotations['checksum/rules'];
    const changed: RuleGroup = { ...example, rules: [{ alert: 'ExampleDown', expr: 'up == 0', for: '10m' }] };

    expect(checksum(example)).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(changed)).not.toBe(checksum(example));
  });

  it('rejects a second rule group of the same name', () => {
    expect(() => withRules(example, { name: 'example', rules: [] })).toThrow('Prometheus already has a rule group named "example"');
  });
});

describe('Prometheus target groups for file discovery', () => {
  const values = parseValues({}, 'test values');
  const targets = (count: number): StaticConfig[] =>
    Array.from({ length: count }, (_, i) => ({ targets: [`https://10.0.${Math.floor(i / 250)}.${i % 250}`], labels: { instance: `s${i}` } }));

  function withTargets(name: string, groups: StaticConfig[], again?: StaticConfig[]) {
    const prometheus = new Prometheus(new App(), 'prometheus', {
      namespace: 'test',
      clusterName: 'test',
      ...values.prometheus,
      startupTimeout: Duration.minutes(10),
    });
    const sd = prometheus.addTargetGroups(name, groups);
    if (again) prometheus.addTargetGroups(name, again);
    const objects = Testing.synth(prometheus);
    return { prometheus, sd, objects, statefulSet: objects.find((o) => o.kind === 'StatefulSet') };
  }

  it('splits targets into ConfigMaps of a bounded size, each file mounted read-only where file_sd_configs reads it', () => {
    const { sd, objects, statefulSet: deployment } = withTargets('inventory', targets(Prometheus.TARGETS_PER_FILE + 1));
    const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('prometheus-targets-'));

    expect(configMaps.map((c) => c.metadata.name)).toEqual(['prometheus-targets-inventory-0', 'prometheus-targets-inventory-1']);
    expect(sd.files).toHaveLength(2);
    const read = sd.files.flatMap((path) => {
      const dir = path.slice(0, path.lastIndexOf('/'));
      const mount = container(deployment, 'prometheus').volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
      expect(mount.readOnly, path).toBe(true);
      const volume = podSpec(deployment).volumes.find((v: { name: string }) => v.name === mount.name);
      const configMap = configMaps.find((c) => c.metadata.name === volume.configMap.name);
      return YAML.parse(configMap.data[path.slice(dir.length + 1)]);
    });
    expect(read).toEqual(targets(Prometheus.TARGETS_PER_FILE + 1));
  });

  it('leaves the pod alone when targets change: Prometheus re-reads discovery files itself', () => {
    const annotations = (count: number) => withTargets('inventory', targets(count)).statefulSet.spec.template.metadata.annotations;

    expect(annotations(3)).toEqual(annotations(4));
  });

  it('rejects a second set of target groups of the same name', () => {
    expect(() => withTargets('inventory', targets(1), targets(1))).toThrow('Prometheus already has target groups named "inventory"');
  });
});

import { App, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { Prometheus } from '../charts/prometheus.ts';
import type { RuleGroup, StaticConfig } from '../charts/shared/scrape.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { CONFIG_CHECKSUM_ANNOTATION, EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { parseValues } from '../charts/values.ts';
import { connects, egressAllowed } from './network-policy.ts';
import { relabel } from './relabel.ts';
import { container, EXTERNAL_METRICS_VALUES, podSpec, render, type K8sObject } from './support.ts';

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
    expect(r.stack.prometheus.remoteWriteEndpoints.map((e) => e.url())).toEqual(['http://prometheus.sightline.svc.cluster.local:9090/api/v1/write']);
    expect(r.stack.prometheus.otlpEndpoints.map((e) => e.url())).toEqual(['http://prometheus.sightline.svc.cluster.local:9090/api/v1/otlp']);
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
      startupTimeout: '10m',
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
      startupTimeout: '10m',
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

  it('renders only its own alerts (on itself, its capacity and the volumes of its namespace) when no component contributes rules', () => {
    const { groups } = YAML.parse(withRules().find('ConfigMap', 'prometheus-rules').data['rules.yaml']);
    expect(groups.map((g: RuleGroup) => g.name)).toEqual(['prometheus', 'volumes', 'prometheus-capacity']);
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
      startupTimeout: '10m',
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

/** External labels as the pod `pod` expands them from its environment (`${POD_NAME}`, the downward API). */
function expandedFor(labels: Record<string, string>, pod: string): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v.replaceAll('${POD_NAME}', pod)]));
}

describe('Prometheus as an HA pair', () => {
  const r = render({
    prometheus: { replicas: 2, storage: '50Gi', retentionSize: '40GB' },
    networkPolicy: { egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } },
  });
  const statefulSet = r.find('StatefulSet', 'prometheus');
  const prometheus = container(statefulSet, 'prometheus');
  const config = r.configFile('prometheus-config', 'prometheus.yml');
  const pods = ['prometheus-0', 'prometheus-1'];

  it('runs two pods that start apart from each other, each on a claim of its own from a template, with no shared claim', () => {
    expect(statefulSet.spec.replicas).toBe(2);
    expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
    expect(statefulSet.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }),
        spec: expect.objectContaining({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } } }),
      }),
    ]);
    expect(prometheus.volumeMounts).toContainEqual({ name: 'data', mountPath: '/prometheus' });
    expect(podSpec(statefulSet).volumes.some((v: any) => v.persistentVolumeClaim)).toBe(false);
    expect(r.all('PersistentVolumeClaim').map((c) => c.metadata.name)).not.toContain('prometheus-data');
  });

  it('gives both pods one config, which labels what leaves each with its own pod name, from the downward API', () => {
    expect(podSpec(statefulSet).volumes).toContainEqual({ name: 'config', configMap: { name: 'prometheus-config' } });
    expect(prometheus.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(config.global.external_labels).toEqual({ cluster: 'dev', replica: '${POD_NAME}' });
    const labels = pods.map((pod) => expandedFor(config.global.external_labels, pod));
    expect(labels[0]).not.toEqual(labels[1]);
  });

  it('sends Alertmanager the same alert from both pods: the replica label is dropped after the external labels are added', () => {
    const alert = { alertname: 'PrometheusTargetDown', severity: 'warning', job: 'grafana' };
    const sent = pods.map((pod) => relabel(config.alerting.alert_relabel_configs, { ...alert, ...expandedFor(config.global.external_labels, pod) }));
    expect(sent[0]).toEqual({ ...alert, cluster: 'dev' });
    expect(sent[1]).toEqual(sent[0]);
    expect(config.alerting.alertmanagers).toHaveLength(1);
  });

  it('may be drained one pod at a time, and spreads the pods over nodes and zones', () => {
    const budget = r.find('PodDisruptionBudget', 'prometheus');
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(Object.entries(budget.spec.selector.matchLabels).every(([k, v]) => statefulSet.spec.template.metadata.labels[k] === v)).toBe(true);
    expect(podSpec(statefulSet).topologySpreadConstraints.map((c: any) => c.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
  });

  it('names each pod under a headless governing Service; Grafana queries prometheus-0 only, under the same uid', () => {
    const headless = r.find('Service', 'prometheus-replicas');
    expect(headless.spec.clusterIP).toBe('None');
    expect(statefulSet.spec.serviceName).toBe('prometheus-replicas');
    const datasources = r.configFile('grafana-datasources', 'datasources.yaml').datasources;
    expect(datasources.find((d: any) => d.uid === DATASOURCE_UID.prometheus).url).toBe(
      'http://prometheus-0.prometheus-replicas.sightline.svc.cluster.local:9090',
    );
  });

  it('receives every span metric and OTLP metric on both pods: the writers send each pod everything', () => {
    const pod = (name: string, path: string) => `http://${name}.prometheus-replicas.sightline.svc.cluster.local:9090${path}`;
    const tempo = r.configFile('tempo-config', 'tempo.yaml');
    expect(tempo.metrics_generator.storage.remote_write.map((w: any) => w.url)).toEqual(pods.map((p) => pod(p, '/api/v1/write')));
    const collector = r.configFile('otel-collector-config', 'config.yaml');
    const exporters: string[] = collector.service.pipelines.metrics.exporters;
    expect(exporters.map((e) => collector.exporters[e].endpoint)).toEqual(pods.map((p) => pod(p, '/api/v1/otlp')));
  });

  it('scrapes both pods, pod by pod, as the job the self-monitoring alerts select', () => {
    const job = config.scrape_configs.find((j: any) => j.job_name === 'prometheus');
    expect(job.static_configs).toBeUndefined();
    const selector = job.kubernetes_sd_configs[0].selectors[0].label.split(',').map((l: string) => l.split('='));
    expect(selector.every(([k, v]: string[]) => statefulSet.spec.template.metadata.labels[k] === v)).toBe(true);
    expect(r.configFile('prometheus-rules', 'rules.yaml').groups.find((g: any) => g.name === 'prometheus').rules[1].expr).toContain(
      'job="prometheus"',
    );
  });

  it('lets Grafana and both writers into the pods under restricted egress', () => {
    const podOf = (kind: string, name: string) => {
      const w = r.find(kind, name);
      return { namespace: w.metadata.namespace!, labels: w.spec.template.metadata.labels };
    };
    const policies = r.all('NetworkPolicy');
    const port = { port: 9090, protocol: 'TCP' } as const;
    for (const [kind, name] of [
      ['Deployment', 'grafana'],
      ['StatefulSet', 'tempo'],
      ['Deployment', 'otel-collector'],
    ] as const) {
      expect(connects(policies, podOf(kind, name), podOf('StatefulSet', 'prometheus'), port), name).toBe(true);
    }
  });
});

describe('Prometheus writing to an external metrics store', () => {
  const mimir = EXTERNAL_METRICS_VALUES.prometheus.external;
  const egress = { egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } };
  const r = render({ ...EXTERNAL_METRICS_VALUES, networkPolicy: egress });
  const config = r.configFile('prometheus-config', 'prometheus.yml');
  const statefulSet = r.find('StatefulSet', 'prometheus');
  const grafana = r.find('Deployment', 'grafana');
  const datasource = r.configFile('grafana-datasources', 'datasources.yaml').datasources.find((d: any) => d.uid === DATASOURCE_UID.prometheus);

  /** The file a container reads at `path`, as the Secret volume mounted above it provides it. */
  function secretFile(workload: K8sObject, containerName: string, path: string): { secret: string; key: string } | undefined {
    const mount = container(workload, containerName).volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    const volume = podSpec(workload).volumes.find((v: any) => v.name === mount?.name);
    return volume?.secret && { secret: volume.secret.secretName, key: path.slice(mount.mountPath.length + 1) };
  }

  it('remote-writes everything with exemplars, the tenant header and the password from a file of the mounted Secret', () => {
    expect(config.remote_write).toHaveLength(1);
    const [write] = config.remote_write;
    expect(write).toMatchObject({ url: mimir.writeUrl, send_exemplars: true, headers: { 'X-Scope-OrgID': 'team-a' } });
    expect(write.basic_auth.username).toBe('team-a');
    expect(secretFile(statefulSet, 'prometheus', write.basic_auth.password_file)).toEqual({ secret: 'mimir-credentials', key: 'password' });
  });

  it("labels the pair with the HA tracker's labels, cluster and __replica__, and keeps __replica__ off the alerts", () => {
    expect(config.global.external_labels).toEqual({ cluster: 'dev', __replica__: '${POD_NAME}' });
    const alert = { alertname: 'VolumeFillingUp', severity: 'warning' };
    for (const pod of ['prometheus-0', 'prometheus-1']) {
      expect(relabel(config.alerting.alert_relabel_configs, { ...alert, ...expandedFor(config.global.external_labels, pod) })).toEqual({
        ...alert,
        cluster: 'dev',
      });
    }
  });

  it('has Grafana query the store under the same uid, with the tenant and the password Grafana reads from its own mount', () => {
    expect(datasource).toMatchObject({ url: mimir.queryUrl, type: 'prometheus', isDefault: true, basicAuth: true, basicAuthUser: 'team-a' });
    expect(datasource.jsonData).toMatchObject({ httpHeaderName1: 'X-Scope-OrgID', exemplarTraceIdDestinations: expect.any(Array) });
    expect(datasource.secureJsonData.httpHeaderValue1).toBe('team-a');
    const file = /^\$__file\{(.+)\}$/.exec(datasource.secureJsonData.basicAuthPassword)?.[1];
    expect(file).toBeDefined();
    expect(secretFile(grafana, 'grafana', file!)).toEqual({ secret: 'mimir-credentials', key: 'password' });
  });

  it('renders no credential: the Secret is listed as created out of band on both workloads, and no Secret object is rendered', () => {
    for (const w of [statefulSet, grafana]) {
      expect(w.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION].split(',')).toContain('mimir-credentials');
    }
    expect(r.all('Secret').map((s) => s.metadata.name)).not.toContain('mimir-credentials');
    expect(Object.values(datasource.secureJsonData).every((v) => v === 'team-a' || /^\$__file\{[^}]+\}$/.test(v as string))).toBe(true);
  });

  it('lets Prometheus and Grafana out to the store under restricted egress, and no other workload', () => {
    const policies = r.all('NetworkPolicy');
    const store = { ip: '203.0.113.7' };
    const https = { port: 443, protocol: 'TCP' } as const;
    const podOf = (w: K8sObject) => ({ namespace: w.metadata.namespace!, labels: w.spec.template.metadata.labels });
    expect(egressAllowed(policies, podOf(statefulSet), store, https)).toBe(true);
    expect(egressAllowed(policies, podOf(grafana), store, https)).toBe(true);
    expect(egressAllowed(policies, podOf(r.find('StatefulSet', 'loki')), store, https)).toBe(false);
  });
});

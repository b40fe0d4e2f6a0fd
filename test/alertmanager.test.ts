import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import type { AlertmanagerConfig } from '../charts/alertmanager.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { inhibits, receiversOf, ROUTED_VALUES } from './routing.ts';
import { container, podSpec, render, valueProblems } from './support.ts';

describe('Alertmanager in the dev default', () => {
  const r = render();
  const set = r.find('StatefulSet', 'alertmanager');
  const am = container(set, 'alertmanager');

  it('runs one pod without gossip, and no disruption budget', () => {
    expect(set.spec.replicas).toBe(1);
    expect(am.args).toContain('--cluster.listen-address=');
    expect(am.args.some((a: string) => a.startsWith('--cluster.peer='))).toBe(false);
    expect(r.all('PodDisruptionBudget').filter((p) => p.metadata.name === 'alertmanager')).toEqual([]);
  });

  it('states the flags the image CMD would have given, since args replace it', () => {
    const config = podSpec(set).volumes.find((v: any) => v.configMap?.name === 'alertmanager-config');
    const configMount = am.volumeMounts.find((m: any) => m.name === config.name);
    const dataMount = am.volumeMounts.find((m: any) => m.name === 'data');

    expect(am.args).toContain(`--config.file=${configMount.mountPath}/alertmanager.yml`);
    expect(am.args).toContain(`--storage.path=${dataMount.mountPath}`);
    expect(set.spec.volumeClaimTemplates[0]).toMatchObject({
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  });

  it('notifies no one until values name receivers, but still groups and inhibits', () => {
    const config: AlertmanagerConfig = r.configFile('alertmanager-config', 'alertmanager.yml');
    expect(config.receivers).toEqual([{ name: 'nobody' }]);
    expect(config.route).toMatchObject({ receiver: 'nobody', group_by: ['alertname', 'cluster', 'namespace', 'server'] });
    expect(config.inhibit_rules).toEqual([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['cluster', 'namespace', 'server', 'job', 'instance', 'pod', 'persistentvolumeclaim'],
      },
    ]);
  });

  it('has Prometheus send alerts to every ready pod behind its Service, found by discovery', () => {
    const { alerting } = r.configFile('prometheus-config', 'prometheus.yml');
    const endpoint = r.stack.alertmanager.endpoint;
    const [target] = alerting.alertmanagers;

    expect(alerting.alertmanagers).toHaveLength(1);
    expect(target.api_version).toBe('v2');
    expect(target.static_configs).toBeUndefined();
    expect(target.kubernetes_sd_configs).toEqual([
      {
        role: 'endpointslice',
        namespaces: { names: [endpoint.namespace] },
        selectors: [{ role: 'endpointslice', label: `kubernetes.io/service-name=${endpoint.serviceName}` }],
      },
    ]);
    expect(target.relabel_configs).toContainEqual({
      source_labels: ['__meta_kubernetes_endpointslice_port'],
      action: 'keep',
      regex: String(endpoint.port),
    });
    expect(target.relabel_configs).toContainEqual({
      source_labels: ['__meta_kubernetes_endpointslice_endpoint_conditions_ready'],
      action: 'keep',
      regex: 'true',
    });
    const service = r.find('Service', endpoint.serviceName, endpoint.namespace);
    expect(service.spec.ports.map((p: any) => p.targetPort)).toContain(endpoint.port);
  });

  it('gives Prometheus read access to the endpoint slices it discovers Alertmanager by', () => {
    const rules = r.find('ClusterRole', 'sightline-prometheus').rules;
    expect(
      rules.some(
        (rule: any) =>
          rule.apiGroups.includes('discovery.k8s.io') &&
          rule.resources.includes('endpointslices') &&
          rule.verbs.includes('list') &&
          rule.verbs.includes('watch'),
      ),
    ).toBe(true);
  });

  it('is a Grafana datasource under its constant uid, read with the Prometheus Alertmanager API', () => {
    const { datasources } = r.configFile('grafana-datasources', 'datasources.yaml');
    expect(datasources.find((d: any) => d.uid === DATASOURCE_UID.alertmanager)).toMatchObject({
      type: 'alertmanager',
      url: r.stack.alertmanager.endpoint.url(),
      jsonData: { implementation: 'prometheus' },
    });
  });

  it('is scraped pod by pod', () => {
    const { scrape_configs } = r.configFile('prometheus-config', 'prometheus.yml');
    const job = scrape_configs.find((j: any) => j.job_name === 'alertmanager');
    expect(job.kubernetes_sd_configs[0]).toMatchObject({ role: 'pod', namespaces: { names: ['sightline'] } });
    expect(job.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'http' });
  });
});

describe('Alertmanager as an HA cluster', () => {
  const r = render(ROUTED_VALUES);
  const set = r.find('StatefulSet', 'alertmanager');
  const am = container(set, 'alertmanager');
  const config: AlertmanagerConfig = r.configFile('alertmanager-config', 'alertmanager.yml');

  it('runs three peers that find each other by the stable DNS name of each pod on the headless Service', () => {
    const headless = r.find('Service', set.spec.serviceName);
    const peers = am.args.filter((a: string) => a.startsWith('--cluster.peer=')).map((a: string) => a.slice('--cluster.peer='.length));

    expect(set.spec.replicas).toBe(3);
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(headless.spec.ports.map((p: any) => `${p.port}/${p.protocol}`).sort()).toEqual(['9094/TCP', '9094/UDP']);
    expect(peers).toEqual([0, 1, 2].map((i) => `alertmanager-${i}.${headless.metadata.name}.sightline.svc.cluster.local:9094`));
    expect(am.args).toContain('--cluster.listen-address=0.0.0.0:9094');
    expect(am.args).toContain('--cluster.advertise-address=[$(POD_IP)]:9094');
  });

  it('lets only one peer be disrupted at a time, and prefers spreading its peers over nodes and zones', () => {
    const pdb = r.find('PodDisruptionBudget', 'alertmanager');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: set.spec.selector.matchLabels } });
    const spread = podSpec(set).topologySpreadConstraints;
    expect(spread.map((c: any) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) {
      expect(c.whenUnsatisfiable).toBe('ScheduleAnyway');
      expect(c.labelSelector.matchLabels).toEqual(set.spec.selector.matchLabels);
    }
  });

  it('reads every secret from a file of a Secret created out of band, and renders none', () => {
    const text = r.find('ConfigMap', 'alertmanager-config').data['alertmanager.yml'];
    const files = [...text.matchAll(/(\w+_file): (\S+)/g)].map(([, field, path]) => ({ field, path }));
    const mounts = am.volumeMounts.map((m: any) => ({ ...m, secret: podSpec(set).volumes.find((v: any) => v.name === m.name)?.secret }));

    expect(files.map((f) => f.field).sort()).toEqual(['api_url_file', 'auth_password_file', 'routing_key_file', 'url_file']);
    for (const { path } of files) {
      const mount = mounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
      expect(mount?.secret, path).toBeDefined();
      expect(mount.readOnly).toBe(true);
      expect(mount.secret.defaultMode).toBe(0o440);
    }
    expect(text).not.toMatch(/\b(url|api_url|routing_key|service_key|auth_password):/);
    expect(set.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('am-pagerduty,am-slack,am-smtp,am-webhook');
    expect(r.all('Secret')).toEqual([]);
  });

  it('pages for a critical alert and tells the team chat, sends a warning to the chat only, and the rest by mail', () => {
    expect(receiversOf(config.route, { alertname: 'RedfishSystemHealthCritical', severity: 'critical', server: 's1' })).toEqual([
      'pager',
      'team-chat',
    ]);
    expect(receiversOf(config.route, { alertname: 'RedfishDriveUnhealthy', severity: 'warning', server: 's1' })).toEqual(['team-chat']);
    expect(receiversOf(config.route, { alertname: 'Watchdog', severity: 'info' })).toEqual(['tickets']);
    expect(receiversOf(config.route, { alertname: 'Unlabelled' })).toEqual(['team-mail']);
  });

  it('alerts when a peer drops out of the gossip', () => {
    const group = r.configFile('prometheus-rules', 'rules.yaml').groups.find((g: any) => g.name === 'alertmanager');
    expect(group.rules.find((rule: any) => rule.alert === 'AlertmanagerClusterMembersMissing').expr).toBe(
      'max_over_time(alertmanager_cluster_members{job="alertmanager"}[5m]) < 3',
    );
  });

  it('rolls its pods when the config changes', () => {
    const other = render({ alertmanager: { ...ROUTED_VALUES.alertmanager, route: { receiver: 'pager' } } }).find('StatefulSet', 'alertmanager');
    const checksum = (s: any) => s.spec.template.metadata.annotations['checksum/config'];
    expect(checksum(set)).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(other)).not.toBe(checksum(set));
  });
});

describe('Alertmanager values', () => {
  const receiver = { name: 'chat', slack: { urlSecret: { name: 'am-slack', key: 'url' } } };

  it('fails when a route names a receiver that does not exist', () => {
    expect(valueProblems({ alertmanager: { receivers: [receiver], route: { severities: { critical: ['pager'] } } } })).toEqual([
      'alertmanager.route.severities.critical[0]: "pager" is not a receiver of alertmanager.receivers (chat, nobody)',
    ]);
    expect(valueProblems({ alertmanager: { route: { receiver: 'chat' } } })).toEqual([
      'alertmanager.route.receiver: "chat" is not a receiver of alertmanager.receivers (nobody)',
    ]);
  });

  it('fails when two receivers share a name', () => {
    expect(valueProblems({ alertmanager: { receivers: [receiver, receiver] } })).toEqual([
      'alertmanager.receivers[1].name: "chat" is already the name of alertmanager.receivers[0]',
    ]);
  });

  it('fails when a receiver has no integration, or takes the built-in name', () => {
    expect(valueProblems({ alertmanager: { receivers: [{ name: 'chat' }] } })).toEqual([
      'alertmanager.receivers[0]: "chat" is a receiver without a way to notify: give webhook, slack, email or pagerduty',
    ]);
    expect(valueProblems({ alertmanager: { receivers: [{ ...receiver, name: 'nobody' }] } })).toEqual([
      'alertmanager.receivers[0].name: "nobody" is reserved for the built-in receiver that notifies no one',
    ]);
  });

  it('fails when a secret is written into the values instead of a Secret reference', () => {
    expect(valueProblems({ alertmanager: { receivers: [{ name: 'chat', slack: { url: 'https://hooks.slack.com/services/T0/B0/x' } }] } })).toEqual(
      expect.arrayContaining(['alertmanager.receivers[0].slack.url: unknown key (allowed here: urlSecret, channel)']),
    );
  });

  it('fails when SMTP authentication is half given, or the smarthost has no port', () => {
    const email = { to: 'a@example.com', from: 'b@example.com', smarthost: 'smtp.example.com:587' };
    expect(valueProblems({ alertmanager: { receivers: [{ name: 'mail', email: { ...email, username: 'am' } }] } })).toEqual([
      'alertmanager.receivers[0].email.passwordSecret: nothing is given, but username "am" needs a password Secret (drop username to send without authentication)',
    ]);
    expect(valueProblems({ alertmanager: { receivers: [{ name: 'mail', email: { ...email, smarthost: 'smtp.example.com' } }] } })).toEqual([
      'alertmanager.receivers[0].email.smarthost: "smtp.example.com" is not a host:port like smtp.example.com:587',
    ]);
  });

  it('fails when there is no Alertmanager', () => {
    expect(valueProblems({ alertmanager: { replicas: 0 } })).toEqual([
      'alertmanager.replicas: 0 is not a replica count: alerts need at least 1 Alertmanager',
    ]);
  });
});

describe('Alertmanager config text', () => {
  it('has no null fields', () => {
    const text = render(ROUTED_VALUES).find('ConfigMap', 'alertmanager-config').data['alertmanager.yml'];
    expect(text).not.toMatch(/: null$/m);
    expect(YAML.parse(text).route.routes).toHaveLength(4);
  });
});

describe('Alertmanager inhibition', () => {
  const { inhibit_rules: rules }: AlertmanagerConfig = render(ROUTED_VALUES).configFile('alertmanager-config', 'alertmanager.yml');
  const server = (name: string, alertname: string, severity: string) => ({
    alertname,
    severity,
    server: name,
    instance: name,
    job: 'redfish-fra1',
    cluster: 'dev',
  });

  it('mutes the warnings about a server that has a critical alert', () => {
    expect(inhibits(rules, server('s1', 'RedfishSystemHealthCritical', 'critical'), server('s1', 'RedfishDriveUnhealthy', 'warning'))).toBe(true);
  });

  it('leaves a filling volume alone when another claim on the same node is almost full', () => {
    const claim = (name: string, alertname: string, severity: string) => ({
      alertname,
      severity,
      job: 'kubelet',
      instance: '10.0.0.21:10250',
      namespace: 'sightline',
      persistentvolumeclaim: name,
      cluster: 'dev',
    });
    expect(inhibits(rules, claim('prometheus-data', 'VolumeAlmostFull', 'critical'), claim('loki-data', 'VolumeFillingUp', 'warning'))).toBe(false);
    expect(inhibits(rules, claim('loki-data', 'VolumeAlmostFull', 'critical'), claim('loki-data', 'VolumeFillingUp', 'warning'))).toBe(true);
  });

  it('leaves the warnings about other servers, and other criticals, alone', () => {
    expect(inhibits(rules, server('s1', 'RedfishSystemHealthCritical', 'critical'), server('s2', 'RedfishDriveUnhealthy', 'warning'))).toBe(false);
    expect(inhibits(rules, server('s1', 'RedfishSystemHealthCritical', 'critical'), server('s1', 'Other', 'critical'))).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { loadValues } from '../cli/targets.ts';
import { bmcUrl, hardwareRules, Redfish, REDFISH_RESERVED_LABELS } from '../charts/redfish.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { parseValues, seconds, valuesJsonSchema, type ValuesInput } from '../charts/values.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { hardwareInventory } from './bench/hardware-inventory.ts';
import { container, HARDWARE_VALUES, podSpec, render, valueProblems, type K8sObject } from './support.ts';

type GroupInput = NonNullable<NonNullable<ValuesInput['redfish']>['groups']>[number];

/** A group of `count` servers named `<name>-sNN`, with BMCs `10.<index>.0.NN`. */
function group(name: string, overrides: Partial<GroupInput> = {}, count = 2, index = 0): GroupInput {
  return {
    name,
    nodeSelector: { 'sightline.io/bmc-network': name },
    configSecret: { name: `redfish-${name}` },
    servers: Array.from({ length: count }, (_, i) => ({
      name: `${name}-s${String(i + 1).padStart(2, '0')}`,
      bmc: `10.${index}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      labels: { rack: `r${Math.floor(i / 20) + 1}` },
    })),
    ...overrides,
  };
}

function withGroups(...groups: GroupInput[]): ValuesInput {
  return { redfish: { groups } };
}

/** The exporter DaemonSets (other components run DaemonSets too). */
function exporters(rendered: ReturnType<typeof render>): K8sObject[] {
  return rendered.all('DaemonSet').filter((d) => d.metadata.name.startsWith('redfish-'));
}

function prometheusConfig(rendered: ReturnType<typeof render>) {
  return rendered.configFile('prometheus-config', 'prometheus.yml');
}

/**
 * The target groups a scrape job discovers from files, read the way Prometheus reads them: each file path
 * must lie in a folder where a ConfigMap is mounted into the Prometheus container.
 */
function discoveredTargets(
  rendered: ReturnType<typeof render>,
  job: { file_sd_configs: Array<{ files: string[] }> },
): Array<{ targets: string[]; labels: Record<string, string> }> {
  const prometheus = rendered.find('StatefulSet', 'prometheus');
  return job.file_sd_configs
    .flatMap((sd) => sd.files)
    .flatMap((path) => {
      const slash = path.lastIndexOf('/');
      const mount = container(prometheus, 'prometheus').volumeMounts.find((m: { mountPath: string }) => m.mountPath === path.slice(0, slash));
      const volume = podSpec(prometheus).volumes.find((v: { name: string }) => v.name === mount.name);
      return rendered.configFile(volume.configMap.name, path.slice(slash + 1));
    });
}

describe('Redfish exporter groups', () => {
  it('renders one exporter DaemonSet and one Service per group, each restricted to its nodes', () => {
    const rendered = render(
      withGroups(group('fra1'), group('ams1', { nodeSelector: { 'sightline.io/bmc-network': 'ams1', 'sightline.io/rack-row': 'a' } }, 2, 1)),
    );

    const daemonSets = exporters(rendered);
    expect(daemonSets.map((d) => d.metadata.name)).toEqual(['redfish-fra1', 'redfish-ams1']);
    const terms = (d: K8sObject) => podSpec(d).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms(daemonSets[0]!)).toEqual([{ matchExpressions: [{ key: 'sightline.io/bmc-network', operator: 'In', values: ['fra1'] }] }]);
    expect(terms(daemonSets[1]!)).toEqual([
      {
        matchExpressions: [
          { key: 'sightline.io/bmc-network', operator: 'In', values: ['ams1'] },
          { key: 'sightline.io/rack-row', operator: 'In', values: ['a'] },
        ],
      },
    ]);
    for (const daemonSet of daemonSets) {
      const service = rendered.find('Service', daemonSet.metadata.name, 'sightline-hardware');
      expect(service.spec.selector).toEqual(daemonSet.spec.selector.matchLabels);
      expect(daemonSet.spec.template.metadata.labels).toMatchObject(daemonSet.spec.selector.matchLabels);
      expect(daemonSet.spec.selector.matchLabels).not.toHaveProperty(['app.kubernetes.io/version']);
    }
  });

  it('runs the exporter hardened, adding back only NET_BIND_SERVICE so the binary with a file capability can start', () => {
    const exporter = render(withGroups(group('fra1'))).find('DaemonSet', 'redfish-fra1');
    const spec = podSpec(exporter);
    const c = container(exporter, 'redfish-exporter');

    expect(c.image).toMatch(/^docker\.io\/gportal\/redfish_exporter:\d+\.\d+\.\d+$/);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.hostNetwork).toBeUndefined();
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(c.args).toContain('-web.listen-address=:9096');
    expect(c.readinessProbe.tcpSocket.port).toBe(9096);
  });

  it("only references the group's config Secret: mounted read-only, recorded as external, never rendered", () => {
    const rendered = render(withGroups(group('fra1', { configSecret: { name: 'bmc-credentials', key: 'exporter.yml' } })));
    const exporter = rendered.find('DaemonSet', 'redfish-fra1');

    expect(rendered.all('Secret')).toEqual([]);
    expect(exporter.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('bmc-credentials');
    const volume = podSpec(exporter).volumes.find((v: { secret?: unknown }) => v.secret);
    expect(volume.secret).toEqual({ secretName: 'bmc-credentials', items: [{ key: 'exporter.yml', path: 'config.yml' }], defaultMode: 0o440 });
    const c = container(exporter, 'redfish-exporter');
    expect(c.volumeMounts).toContainEqual({ name: volume.name, mountPath: '/etc/redfish_exporter', readOnly: true });
    expect(c.args).toContain('-config.file=/etc/redfish_exporter/config.yml');
  });

  it("scrapes every server through its group's Service with the multi-target pattern", () => {
    const rendered = render(withGroups(group('fra1', { scrapeInterval: '2m30s', scrapeTimeout: '90s' }), group('ams1', {}, 2, 1)));
    const jobs = prometheusConfig(rendered).scrape_configs.filter((j: { job_name: string }) => j.job_name.startsWith('redfish-'));
    const endpoint = rendered.stack.redfish!.endpoints.get('fra1')!;

    expect(jobs.map((j: { job_name: string }) => j.job_name)).toEqual(['redfish-fra1', 'redfish-ams1']);
    const [fra1, ams1] = jobs;
    expect(fra1).toMatchObject({ scrape_interval: '2m30s', scrape_timeout: '90s', metrics_path: '/metrics' });
    expect(ams1).toMatchObject({ scrape_interval: '2m', scrape_timeout: '90s' });
    expect(discoveredTargets(rendered, fra1)).toEqual([
      { targets: ['https://10.0.0.1'], labels: { instance: 'fra1-s01', rack: 'r1' } },
      { targets: ['https://10.0.0.2'], labels: { instance: 'fra1-s02', rack: 'r1' } },
    ]);
    expect(fra1.relabel_configs).toEqual([
      { source_labels: ['__address__'], target_label: '__param_host' },
      { source_labels: ['__address__'], regex: 'https?://(.+)', target_label: 'bmc' },
      { target_label: 'group', replacement: 'fra1' },
      { target_label: '__address__', replacement: endpoint.hostPort },
    ]);
    // The address Prometheus ends up scraping is the group's own Service, on the port the exporter listens on.
    const service = rendered.find('Service', endpoint.serviceName, endpoint.namespace);
    expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(endpoint.port);
    expect(container(rendered.find('DaemonSet', 'redfish-fra1'), 'redfish-exporter').ports).toContainEqual({
      containerPort: endpoint.port,
      name: 'http',
    });
  });

  it('asks the exporter for https URLs of host names and IPs, and keeps the scheme and port of a URL', () => {
    expect(bmcUrl('idrac-r01.mgmt.example.net')).toBe('https://idrac-r01.mgmt.example.net');
    expect(bmcUrl('10.20.3.11')).toBe('https://10.20.3.11');
    expect(bmcUrl('fd00::11')).toBe('https://[fd00::11]');
    expect(bmcUrl('https://172.16.8.21:8443/')).toBe('https://172.16.8.21:8443');
    expect(bmcUrl('http://bmc.lab')).toBe('http://bmc.lab');
  });

  it("runs hostNetwork groups in the nodes' network with the node's resolver, in a namespace that admits them", () => {
    const rendered = render(withGroups(group('fra1'), group('ams1', { hostNetwork: true, port: 9196 }, 2, 1)));
    const hostNetworked = podSpec(rendered.find('DaemonSet', 'redfish-ams1'));

    expect(hostNetworked.hostNetwork).toBe(true);
    expect(hostNetworked.dnsPolicy).toBe('Default');
    expect(container(rendered.find('DaemonSet', 'redfish-ams1'), 'redfish-exporter').args).toContain('-web.listen-address=:9196');
    expect(podSpec(rendered.find('DaemonSet', 'redfish-fra1')).dnsPolicy).toBe('ClusterFirst');
    expect(rendered.find('Namespace', 'sightline-hardware').metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('privileged');
    // The stack's own namespace stays restricted.
    expect(rendered.find('Namespace', 'sightline').metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it("keeps the hardware namespace restricted when no group needs the host's network", () => {
    const rendered = render({ namespace: 'obs', redfish: { groups: [group('fra1')] } });

    const namespace = rendered.find('Namespace', 'obs-hardware');
    expect(namespace.metadata.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(rendered.find('DaemonSet', 'redfish-fra1').metadata.namespace).toBe('obs-hardware');
  });

  it('renders 1,000 servers in 10 groups with no object per server, and every object far below the apply limit', () => {
    const rendered = render(hardwareInventory(10, 100));
    const hardware = rendered.objects.filter((o) => o.metadata.namespace === 'sightline-hardware');
    const jobs = prometheusConfig(rendered).scrape_configs.filter((j: { job_name: string }) => j.job_name.startsWith('redfish-'));

    // Per group a DaemonSet, a Service and the exporters' network policy; and the namespace's default deny.
    expect(hardware).toHaveLength(31);
    expect(jobs.flatMap((job: any) => discoveredTargets(rendered, job)).flatMap((t: { targets: string[] }) => t.targets)).toHaveLength(1000);
    expect(rendered.objects.filter((o) => o.metadata.name.startsWith('prometheus-targets-'))).toHaveLength(10);
    for (const o of rendered.objects) expect(JSON.stringify(o).length, `${o.kind} ${o.metadata.name}`).toBeLessThan(262_144 / 4);
  });

  it('renders no hardware objects, rules or dashboard when the values list no exporter group', () => {
    const rendered = render();

    expect(rendered.stack.redfish).toBeUndefined();
    expect(exporters(rendered)).toEqual([]);
    expect(rendered.objects.filter((o) => o.metadata.namespace === 'sightline-hardware')).toEqual([]);
    expect(rendered.objects.filter((o) => o.metadata.name === `grafana-dashboard-${Redfish.DASHBOARD_UID}`)).toEqual([]);
    expect(
      rendered
        .configFile('prometheus-rules', 'rules.yaml')
        .groups.map((g: { name: string }) => g.name)
        .filter((n: string) => n.startsWith('redfish')),
    ).toEqual([]);
  });

  it('renders the example hardware environment', () => {
    const rendered = render(YAML.parse(readFileSync('environments/example-hardware.yaml', 'utf8')) as ValuesInput);

    expect(exporters(rendered).map((d) => d.metadata.name)).toEqual(['redfish-fra1-dell', 'redfish-fra1-hpe', 'redfish-ams1']);
    expect(loadValues('environments/example-hardware.yaml').redfish.groups.flatMap((g) => g.servers)).toHaveLength(8);
  });
});

// The bad values the issue lists run end to end (message, exit code, untouched output) in values.test.ts;
// these are the further cases and variants.
describe('Redfish values', () => {
  it('fails when a BMC address is neither a host name, an IP address nor a URL', () => {
    const bad = ['10.0.0.300', 'bmc_01.mgmt', 'ftp://10.0.0.5', 'https://10.0.0.5/redfish/v1', 'https://admin:secret@10.0.0.5'];
    const servers = bad.map((bmc, i) => ({ name: `s${i}`, bmc }));

    expect(valueProblems(withGroups(group('fra1', { servers })))).toEqual(
      bad.map(
        (bmc, i) =>
          `redfish.groups[0].servers[${i}].bmc: ${JSON.stringify(bmc)} is not a BMC address: give a host name, an IP address or a URL like https://10.0.0.5:8443`,
      ),
    );
  });

  it("fails when a group's scrape interval and timeout together reach into Prometheus's 5m lookback, less a minute of margin", () => {
    // A sample is stamped when its walk starts and may land scrapeTimeout later: just before the next one
    // lands, the last is interval + timeout old, and past 5m the series is gone.
    expect(valueProblems(withGroups(group('fra1', { scrapeInterval: '3m', scrapeTimeout: '150s' })))).toEqual([
      'redfish.groups[0].scrapeInterval: "3m" is too long with redfish.groups[0].scrapeTimeout (150s): scrapeInterval + scrapeTimeout is 330s, more than 4m (Prometheus\'s 5m lookback less a minute of margin), so series would vanish between scrapes and alerts would reset',
    ]);
    expect(valueProblems(withGroups(group('fra1', { scrapeInterval: '10m', scrapeTimeout: '5m' })))).toEqual([
      'redfish.groups[0].scrapeInterval: "10m" is too long with redfish.groups[0].scrapeTimeout (5m): scrapeInterval + scrapeTimeout is 900s, more than 4m (Prometheus\'s 5m lookback less a minute of margin), so series would vanish between scrapes and alerts would reset',
    ]);
    expect(() => parseValues(withGroups(group('fra1', { scrapeInterval: '2m30s', scrapeTimeout: '90s' })))).not.toThrow();
  });

  it("fails when the example environment's slowest group would not fit, and takes it as committed", () => {
    const groups = loadValues('environments/example-hardware.yaml').redfish.groups;
    for (const g of groups) expect(seconds(g.scrapeInterval) + seconds(g.scrapeTimeout), g.name).toBeLessThanOrEqual(240);
  });

  it("fails when a group's node selector is empty", () => {
    expect(valueProblems(withGroups(group('ams1', { nodeSelector: {} })))).toEqual([
      'redfish.groups[0].nodeSelector: {} is empty, but every group needs the labels of the nodes that can reach its BMCs, e.g. {"sightline.io/bmc-network": "dc1"}',
    ]);
  });

  it('fails when a server label has a name Prometheus would reject or drop, or one Sightline sets', () => {
    const servers: Array<{ name: string; bmc: string; labels: Record<string, string> }> = [
      { name: 's1', bmc: '10.0.0.1', labels: { 'rack-id': 'r1' } },
      { name: 's2', bmc: '10.0.0.2', labels: { '2nd_psu': 'yes' } },
      { name: 's3', bmc: '10.0.0.3', labels: { __tenant: 'a' } },
      { name: 's4', bmc: '10.0.0.4', labels: { group: 'other' } },
      { name: 's5', bmc: '10.0.0.5', labels: { server: 'db-01', cluster: 'blue', system_id: 'x' } },
    ];
    const reserved = Object.keys(REDFISH_RESERVED_LABELS).join(', ');

    expect(valueProblems(withGroups(group('fra1', { servers })))).toEqual([
      'redfish.groups[0].servers[0].labels.rack-id: "rack-id" is not a Prometheus label name (letters, digits and _, not starting with a digit)',
      'redfish.groups[0].servers[1].labels.2nd_psu: "2nd_psu" is not a Prometheus label name (letters, digits and _, not starting with a digit)',
      'redfish.groups[0].servers[2].labels.__tenant: "__tenant" is not a usable label name: names starting with __ are reserved to Prometheus',
      `redfish.groups[0].servers[3].labels.group: "group" is a label Sightline sets itself (${reserved}): choose another name`,
      `redfish.groups[0].servers[4].labels.server: "server" is a label Sightline sets itself (${reserved}): choose another name`,
      `redfish.groups[0].servers[4].labels.cluster: "cluster" is a label Sightline sets itself (${reserved}): choose another name`,
      `redfish.groups[0].servers[4].labels.system_id: "system_id" is a label Sightline sets itself (${reserved}): choose another name`,
    ]);
  });

  it("reserves, in one list, every label the hardware series and alerts get from anything but the server's own labels", () => {
    const rendered = render(withGroups(group('fra1')));
    const config = prometheusConfig(rendered);
    const setByStack = new Set<string>([
      'instance',
      'job',
      'alertname',
      ...Object.keys(config.global.external_labels),
      ...config.scrape_configs
        .filter((j: { job_name: string }) => j.job_name.startsWith('redfish-'))
        .flatMap((j: { relabel_configs: Array<{ target_label?: string }> }) => j.relabel_configs.map((r) => r.target_label))
        .filter((l: string | undefined): l is string => l !== undefined && !l.startsWith('__')),
      ...hardwareRules().rules.flatMap((r) => Object.keys(r.labels ?? {})),
      // What the exporter itself labels its series with (pkg/metric/base in redfish_exporter v1.5.1).
      ...hardwareRules().rules.flatMap((r) => [...r.expr.matchAll(/\b(system_id|processor_id|memory_id|storage_id|drive_id)\b/g)].map((m) => m[1]!)),
    ]);
    expect(Object.keys(REDFISH_RESERVED_LABELS)).toEqual(expect.arrayContaining([...setByStack]));
  });

  it('publishes the reserved names in values.schema.json, so an editor flags them too', () => {
    const schema = JSON.stringify(valuesJsonSchema());
    for (const name of Object.keys(REDFISH_RESERVED_LABELS)) expect(schema).toContain(name);
    const pattern = new RegExp(JSON.parse(schema.match(/"(\^\(\?!\(instance[^"]*)"/)![0]));
    expect(pattern.test('server')).toBe(false);
    expect(pattern.test('rack')).toBe(true);
  });

  it('fails when two hostNetwork groups would listen on the same port', () => {
    expect(valueProblems(withGroups(group('fra1', { hostNetwork: true }), group('fra2', { hostNetwork: true }, 2, 1)))).toEqual([
      'redfish.groups[1].port: 9096 is already the port of hostNetwork group "fra1": exporters in the nodes\' network namespace on the same node cannot share a port',
    ]);
  });

  it("fails when the hardware namespace is the stack's own", () => {
    expect(valueProblems({ redfish: { namespace: 'sightline', groups: [group('fra1')] } })).toEqual([
      'redfish.namespace: "sightline" is the stack\'s namespace: the exporters need one of their own (it holds BMC credentials, and admits hostNetwork pods)',
    ]);
  });
});

/** A panel of the rendered dashboard and its queries. */
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

/** The "Server hardware" dashboard as Grafana reads it from its ConfigMap. */
function hardwareDashboard(): { model: any; panels: Panel[] } {
  const model = JSON.parse(
    render(HARDWARE_VALUES).find('ConfigMap', `grafana-dashboard-${Redfish.DASHBOARD_UID}`).data[`${Redfish.DASHBOARD_UID}.json`],
  );
  return { model, panels: model.panels.filter((p: Panel) => p.type !== 'row') };
}

/** PromQL syntax errors in `expr` (Grafana's `$variables` sit inside label values, which PromQL allows). */
function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`at ${node.from}: ${expr.slice(node.from, node.from + 20)}`);
    },
  });
  return errors;
}

describe('Server hardware dashboard', () => {
  it('is provisioned through the hub, under its constant uid', () => {
    const { model } = hardwareDashboard();

    expect(model).toMatchObject({ uid: Redfish.DASHBOARD_UID, title: 'Server hardware', editable: false });
  });

  it('has the health matrix, failing components, power state and scrape panels', () => {
    const { panels } = hardwareDashboard();

    expect(panels.map((p) => `${p.type}: ${p.title}`)).toEqual([
      'stat: Servers',
      'stat: BMC not readable',
      'stat: Unhealthy systems',
      'stat: Failing components',
      'stat: Powered off',
      'table: Health matrix',
      'table: Failing components',
      'state-timeline: System health',
      'state-timeline: Power state',
      'timeseries: BMC walk duration',
      'timeseries: Failed BMC walks',
    ]);
  });

  it("shows one health matrix column per kind of component, from the exporter's metrics", () => {
    const matrix = hardwareDashboard().panels.find((p) => p.title === 'Health matrix')!;
    const exprs = matrix.targets!.map((t) => t.expr).join('\n');

    for (const metric of [
      'up',
      'redfish_power_state',
      'redfish_health',
      'redfish_processor_health',
      'redfish_memory_health',
      'redfish_storage_health',
      'redfish_drive_health',
    ]) {
      expect(exprs).toContain(`(${metric}{`);
    }
  });

  it('queries the provisioned Prometheus datasource by its uid constant, everywhere', () => {
    const { model, panels } = hardwareDashboard();

    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID.prometheus });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe(DATASOURCE_UID.prometheus);
    }
    for (const variable of model.templating.list) expect(variable.datasource.uid).toBe(DATASOURCE_UID.prometheus);
  });

  it('writes every query and variable in valid PromQL that selects the exporter jobs Prometheus scrapes', () => {
    const { model, panels } = hardwareDashboard();
    const exprs = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const variableExprs = model.templating.list.map((v: { query: string }) => /^label_values\((.*), \w+\)$/.exec(v.query)![1]!);
    const jobs = render(HARDWARE_VALUES)
      .configFile('prometheus-config', 'prometheus.yml')
      .scrape_configs.map((j: { job_name: string }) => j.job_name);

    for (const expr of [...exprs, ...variableExprs]) expect(promqlErrors(expr), expr).toEqual([]);
    const jobMatchers = [...exprs, ...variableExprs].flatMap((e) => [...e.matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]!));
    expect(jobMatchers.length).toBeGreaterThan(0);
    for (const matcher of new Set(jobMatchers)) expect(jobs.filter((j: string) => new RegExp(`^(?:${matcher})$`).test(j))).toEqual(['redfish-fra1']);
    expect(exprs.every((e) => e.includes('group=~"$group", instance=~"$server"'))).toBe(true);
  });
});

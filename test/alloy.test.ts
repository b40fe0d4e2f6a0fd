import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import type { AlertingRule, RuleFile } from '../charts/shared/scrape.ts';
import type { ValuesInput } from '../charts/values.ts';
import { component, parseAlloy, walkBlocks } from './alloy-parse.ts';
import { ALLOY_VERSION, alloyConfigProblems, alloyReference } from './alloy-reference.ts';
import { relabel } from './relabel.ts';
import * as YAML from 'yaml';
import { container, environments, podSpec, render, valueProblems, type K8sObject } from './support.ts';

const AGENTS = 'sightline-agents';
/** Every source and the device inventory, so that every block Sightline can render is rendered. */
const ALLOY: ValuesInput = {
  logs: { agent: 'alloy' },
  promtail: { nodeLogs: { journal: true, files: true } },
  syslog: { devices: [{ address: '10.0.0.1', name: 'sw1', site: 'dc1', role: 'core-switch' }] },
};
type Rendered = ReturnType<typeof render>;
const nodeConfig = (r: Rendered) => parseAlloy(r.find('ConfigMap', 'alloy-config', AGENTS).data['config.alloy']);
const syslogConfig = (r: Rendered) => parseAlloy(r.find('ConfigMap', 'syslog-config').data['config.alloy']);
const daemonSet = (r: Rendered) => r.find('DaemonSet', 'alloy', AGENTS);

function mounts(ds: K8sObject): Array<{ mountPath: string; readOnly: boolean; volume: any }> {
  const volumes = new Map(podSpec(ds).volumes.map((v: any) => [v.name, v]));
  return container(ds, 'alloy').volumeMounts.map((m: any) => ({
    mountPath: m.mountPath,
    readOnly: m.readOnly === true,
    volume: volumes.get(m.name),
  }));
}

/** `--flag=value` of the container's args, by flag. */
function flags(c: any): Record<string, string> {
  return Object.fromEntries(c.args.filter((a: string) => a.startsWith('--')).map((a: string) => a.split(/=(.*)/s).slice(0, 2)));
}

describe('logs.agent', () => {
  it('renders Promtail and no Alloy by default', () => {
    const r = render();

    expect(r.all('DaemonSet').map((d) => d.metadata.name)).toEqual(['promtail']);
    expect(container(r.find('Deployment', 'syslog'), 'promtail').image).toMatch(/promtail/);
  });

  it('renders Alloy instead of Promtail, on every node and in the syslog receiver, with alloy', () => {
    const r = render(ALLOY);

    expect(r.objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'promtail')).toEqual([]);
    expect(r.all('DaemonSet').map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual([`${AGENTS}/alloy`]);
    expect(container(r.find('Deployment', 'syslog'), 'alloy').image).toMatch(/^docker\.io\/grafana\/alloy:v/);
    expect(r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(
      expect.arrayContaining(['alloy', 'syslog']),
    );
    expect(r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.map((j: { job_name: string }) => j.job_name)).not.toContain('promtail');
  });

  it('fails when logs.agent is not an agent Sightline runs', () => {
    expect(valueProblems({ logs: { agent: 'fluent-bit' } })).toEqual(['logs.agent: "fluent-bit" is not one of "promtail", "alloy"']);
  });
});

describe('the Alloy DaemonSet', () => {
  const r = render(ALLOY);
  const ds = daemonSet(r);
  const alloy = container(ds, 'alloy');

  it('runs config.alloy from its ConfigMap, keeping every flag the image CMD had, and serves metrics on all interfaces', () => {
    const configMount = mounts(ds).find((m) => m.volume.configMap)!;

    expect(alloy.command).toBeUndefined();
    expect(alloy.args.slice(0, 2)).toEqual(['run', `${configMount.mountPath}/config.alloy`]);
    expect(configMount).toMatchObject({ readOnly: true, volume: { configMap: { name: 'alloy-config' } } });
    expect(flags(alloy)['--server.http.listen-addr']).toBe(`0.0.0.0:${alloy.ports[0].containerPort}`);
    expect(alloy.args).toContain('--disable-reporting');
    expect(alloy.readinessProbe.httpGet).toMatchObject({ path: '/-/ready', port: alloy.ports[0].containerPort });
  });

  it('keeps its positions on the node, under the storage path, read-write; reads the logs read-only', () => {
    const all = mounts(ds);
    const storage = all.find((m) => m.mountPath === flags(alloy)['--storage.path']);

    expect(storage).toMatchObject({ readOnly: false, volume: { hostPath: { path: `/var/lib/${AGENTS}/alloy`, type: 'DirectoryOrCreate' } } });
    expect(all.filter((m) => m.volume.hostPath && m !== storage).every((m) => m.readOnly)).toBe(true);
    expect(
      all
        .filter((m) => m.volume.hostPath && m !== storage)
        .map((m) => m.volume.hostPath.path)
        .sort(),
    ).toEqual(['/etc/machine-id', '/run/log/journal', '/var/lib/sightline-agents/promtail', '/var/log']);
    // Alloy's positions have a format of their own: Promtail's stay untouched for a switch back.
    expect(storage!.volume.hostPath.path).not.toBe(`/var/lib/${AGENTS}/promtail`);
  });

  it("starts every file and the journal where Promtail stopped, from Promtail's positions on the node", () => {
    const promtail = render({ promtail: { nodeLogs: { journal: true, files: true } } });
    const promtailPositions = promtail.configFile('promtail-config', 'promtail.yaml').positions.filename as string;
    const promtailMount = container(promtail.find('DaemonSet', 'promtail', AGENTS), 'promtail').volumeMounts.find((m: any) =>
      promtailPositions.startsWith(`${m.mountPath}/`),
    );
    const promtailHostDir = podSpec(promtail.find('DaemonSet', 'promtail', AGENTS)).volumes.find((v: any) => v.name === promtailMount.name).hostPath
      .path;
    const blocks = nodeConfig(r);
    // Where Alloy finds the file: its mount of Promtail's host folder.
    const alloyMount = mounts(ds).find((m) => m.volume.hostPath?.path === promtailHostDir)!;
    const legacyFile = `${alloyMount.mountPath}/${promtailPositions.slice(promtailMount.mountPath.length + 1)}`;

    expect(alloyMount.readOnly).toBe(true);
    expect(component(blocks, 'loki.source.file', 'pods').attributes.legacy_positions_file).toBe(legacyFile);
    expect(component(blocks, 'loki.source.file', 'node_files').attributes.legacy_positions_file).toBe(legacyFile);
    expect(component(blocks, 'loki.source.journal', 'node').blocks).toEqual([
      {
        name: 'legacy_position',
        attributes: {
          file: legacyFile,
          name: promtail.configFile('promtail-config', 'promtail.yaml').scrape_configs.find((j: any) => j.journal).job_name,
        },
        blocks: [],
      },
    ]);
  });

  it('runs as root only to read root-owned logs: no privilege, no capability, read-only root filesystem', () => {
    expect(podSpec(ds).securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(alloy.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(podSpec(ds).hostNetwork).toBeUndefined();
  });

  it('knows its node from spec.nodeName and asks the API only for the pods on it', () => {
    const discovery = component(nodeConfig(r), 'discovery.kubernetes', 'pods');

    expect(alloy.env).toContainEqual({ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(discovery.attributes.role).toBe('pod');
    expect(discovery.blocks).toHaveLength(1);
    expect(discovery.blocks[0]!.attributes.role).toBe('pod');
    expect(discovery.blocks[0]!.attributes.field).toEqual(
      expect.objectContaining({
        name: ['string', 'format'],
        args: ['spec.nodeName=%s', expect.objectContaining({ name: ['sys', 'env'], args: ['HOSTNAME'] })],
      }),
    );
  });

  it('reads pods cluster-wide with a mounted token, and nothing else', () => {
    const role = r.find('ClusterRole', `${AGENTS}-alloy`);
    const binding = r.find('ClusterRoleBinding', `${AGENTS}-alloy`);

    expect(role.rules.map((rule: any) => ({ groups: rule.apiGroups, resources: rule.resources, verbs: [...rule.verbs].sort() }))).toEqual([
      { groups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec(ds).serviceAccountName, namespace: AGENTS }]);
    expect(podSpec(ds).automountServiceAccountToken).toBe(true);
  });

  it('parses the CRI format, drops the filename label, and pushes everything to Loki with the cluster label', () => {
    const blocks = nodeConfig(render({ ...ALLOY, clusterName: 'prod-eu' }));
    const process = component(blocks, 'loki.process', 'pods');
    const write = component(blocks, 'loki.write', 'default');

    expect(process.blocks.map((b) => [b.name, b.attributes])).toEqual([
      ['stage.cri', {}],
      ['stage.label_drop', { values: ['filename'] }],
    ]);
    expect(write.attributes.external_labels).toEqual({ cluster: 'prod-eu' });
    expect(write.blocks).toEqual([{ name: 'endpoint', attributes: { url: r.stack.loki!.pushEndpoint.url() }, blocks: [] }]);
    // Every source ends in loki.write, through the CRI parser for pod logs.
    const forwards = walkBlocks(blocks).flatMap(({ block }) =>
      ((block.attributes.forward_to as any[] | undefined) ?? []).map((to) => `${block.name}.${block.label} -> ${to.path.join('.')}`),
    );
    expect(forwards.sort()).toEqual([
      'loki.process.pods -> loki.write.default.receiver',
      'loki.source.file.node_files -> loki.write.default.receiver',
      'loki.source.file.pods -> loki.process.pods.receiver',
      'loki.source.journal.node -> loki.write.default.receiver',
    ]);
  });

  it('reads the journal and the node files only when values ask for them', () => {
    const names = (values: ValuesInput) => nodeConfig(render(values)).map((b) => `${b.name}.${b.label}`);

    expect(names({ logs: { agent: 'alloy' }, promtail: { nodeLogs: { journal: false, files: false } } })).toEqual([
      'discovery.kubernetes.pods',
      'discovery.relabel.pods',
      'loki.source.file.pods',
      'loki.process.pods',
      'loki.write.default',
    ]);
    expect(names({ logs: { agent: 'alloy' } })).toContain('loki.source.journal.node');
    expect(names({ logs: { agent: 'alloy' } })).not.toContain('loki.source.file.node_files');
  });

  it('labels the node files with job and node_name, as Promtail does', () => {
    const files = component(nodeConfig(r), 'loki.source.file', 'node_files');
    const [target] = files.attributes.targets as any[];

    expect(target.__path__).toBe('/var/log/*.log');
    expect(target.job).toBe('node-files');
    expect(target.node_name).toEqual(expect.objectContaining({ name: ['sys', 'env'], args: ['HOSTNAME'] }));
  });

  it('states its resources from logs.alloy.resources', () => {
    const values = {
      ...ALLOY,
      logs: { agent: 'alloy' as const, alloy: { resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } } } },
    };

    expect(container(daemonSet(render(values)), 'alloy').resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
  });

  it('rolls its pods when config.alloy changes', () => {
    const checksum = (values: ValuesInput) => daemonSet(render(values)).spec.template.metadata.annotations['checksum/config'];

    expect(checksum(ALLOY)).not.toBe(checksum({ ...ALLOY, clusterName: 'prod' }));
  });

  it('is scraped pod by pod in the agents namespace, on its metrics port', () => {
    const scrape = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.find((j: { job_name: string }) => j.job_name === 'alloy');
    const [sd] = scrape.kubernetes_sd_configs!;
    const selected = Object.fromEntries(sd!.selectors![0]!.label!.split(',').map((kv: string) => kv.split('=')));

    expect(sd).toMatchObject({ role: 'pod', namespaces: { names: [AGENTS] } });
    expect(ds.spec.template.metadata.labels).toMatchObject(selected);
    expect(relabel(scrape.relabel_configs as any, { __meta_kubernetes_pod_container_port_name: alloy.ports[0].name })).toBeDefined();
  });
});

describe('logs.rolloutNodeLabel', () => {
  const affinity = (ds: K8sObject) => podSpec(ds).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  const LINUX = { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] };

  it('runs both agents, the other one only on nodes labelled with its name, the chosen one everywhere else', () => {
    const r = render({ logs: { agent: 'promtail', rolloutNodeLabel: 'sightline.io/log-agent' } });

    expect(affinity(r.find('DaemonSet', 'promtail', AGENTS))).toEqual([
      { matchExpressions: [LINUX, { key: 'sightline.io/log-agent', operator: 'NotIn', values: ['alloy'] }] },
    ]);
    expect(affinity(r.find('DaemonSet', 'alloy', AGENTS))).toEqual([
      { matchExpressions: [LINUX, { key: 'sightline.io/log-agent', operator: 'In', values: ['alloy'] }] },
    ]);
    // The syslog receiver follows logs.agent alone.
    expect(container(r.find('Deployment', 'syslog'), 'promtail')).toBeDefined();
  });

  it('keeps a way back once Alloy is chosen: Promtail only on nodes labelled promtail', () => {
    const r = render({ logs: { agent: 'alloy', rolloutNodeLabel: 'sightline.io/log-agent' } });

    expect(affinity(r.find('DaemonSet', 'alloy', AGENTS))[0].matchExpressions[1]).toEqual({
      key: 'sightline.io/log-agent',
      operator: 'NotIn',
      values: ['promtail'],
    });
    expect(affinity(r.find('DaemonSet', 'promtail', AGENTS))[0].matchExpressions[1]).toEqual({
      key: 'sightline.io/log-agent',
      operator: 'In',
      values: ['promtail'],
    });
  });

  it('fails when the label is not a Kubernetes label key', () => {
    expect(valueProblems({ logs: { rolloutNodeLabel: 'log agent' } })).toEqual([
      'logs.rolloutNodeLabel: "log agent" is not a Kubernetes label key like kubernetes.io/hostname or bmc-network',
    ]);
  });
});

describe('the syslog receiver on Alloy', () => {
  const r = render(ALLOY);
  const deployment = r.find('Deployment', 'syslog');
  const alloy = container(deployment, 'alloy');
  const source = component(syslogConfig(r), 'loki.source.syslog', 'devices');

  it('listens on TCP with RFC 5424 and on UDP with RFC 3164 by default, on the port the Service targets', () => {
    const service = r.find('Service', 'syslog');
    const listeners = source.blocks.filter((b) => b.name === 'listener');

    expect(listeners.map((l) => [l.attributes.protocol, l.attributes.syslog_format])).toEqual([
      ['tcp', 'rfc5424'],
      ['udp', 'rfc3164'],
    ]);
    for (const l of listeners) {
      const port = Number(String(l.attributes.address).split(':').at(-1));
      expect(service.spec.ports.find((p: any) => p.protocol === String(l.attributes.protocol).toUpperCase()).targetPort).toBe(port);
      expect(alloy.ports).toContainEqual(expect.objectContaining({ containerPort: port, protocol: String(l.attributes.protocol).toUpperCase() }));
      expect(l.attributes.labels).toEqual({ job: 'syslog' });
      expect(l.attributes.use_incoming_timestamp).toBe(false);
    }
  });

  it('takes formats and the timestamp choice from the same values as Promtail', () => {
    const swapped = component(
      syslogConfig(
        render({ logs: { agent: 'alloy' }, syslog: { tcp: { format: 'rfc3164' }, udp: { format: 'rfc5424' }, useIncomingTimestamp: true } }),
      ),
      'loki.source.syslog',
      'devices',
    );

    expect(swapped.blocks.map((l) => [l.attributes.protocol, l.attributes.syslog_format, l.attributes.use_incoming_timestamp])).toEqual([
      ['tcp', 'rfc3164', true],
      ['udp', 'rfc5424', true],
    ]);
  });

  it("runs as Alloy's own user, unprivileged, in the restricted namespace, without an API token or host path", () => {
    expect(deployment.metadata.namespace).toBe('sightline');
    expect(alloy.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 473,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
    expect(podSpec(deployment).volumes.some((v: any) => v.hostPath)).toBe(false);
    // The storage path is on the writable emptyDir.
    const tmp = container(deployment, 'alloy').volumeMounts.find(
      (m: any) => podSpec(deployment).volumes.find((v: any) => v.name === m.name).emptyDir,
    );
    expect(flags(alloy)['--storage.path']!.startsWith(`${tmp.mountPath}/`)).toBe(true);
  });

  it('is scraped on its metrics port, which the Service does not expose', () => {
    const scrape = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.find((j: { job_name: string }) => j.job_name === 'syslog');

    expect(relabel(scrape.relabel_configs as any, { __meta_kubernetes_pod_container_port_name: alloy.ports[0].name })).toBeDefined();
    expect(r.find('Service', 'syslog').spec.ports.map((p: any) => p.targetPort)).not.toContain(alloy.ports[0].containerPort);
  });
});

describe(`config.alloy against the Alloy ${ALLOY_VERSION} reference`, () => {
  const reference = alloyReference();
  const stacks: ReadonlyArray<readonly [string, ValuesInput]> = [
    ['the full Alloy values', ALLOY],
    ...environments().filter(([, v]) => (v as any).logs?.agent === 'alloy'),
  ];

  it('is vendored for the pinned image', () => {
    expect(reference.tag).toBe(`v${ALLOY_VERSION}`);
    expect(reference.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  describe.each(stacks)('%s', (_, values) => {
    const r = render(values);

    it.each([
      ['the node agent', nodeConfig(r)],
      ['the syslog receiver', syslogConfig(r)],
    ])('%s uses only generally available components, and only arguments, blocks, exports and functions they have', (_, blocks) => {
      expect(alloyConfigProblems(blocks, reference)).toEqual([]);
    });

    it('passes alloy run only flags it has', () => {
      for (const w of [daemonSet(r), r.find('Deployment', 'syslog')]) {
        for (const flag of Object.keys(flags(container(w, 'alloy')))) expect(reference.runFlags, flag).toContain(flag);
      }
    });
  });

  it('fails on an unknown component, argument, block, export or function', () => {
    const blocks = parseAlloy(
      [
        'loki.source.files "a" { forward_to = [] }',
        'loki.source.file "b" {',
        '  forward_to = [loki.write.c.receivers]',
        '  target     = []',
        '  file_match { enable = true }',
        '  tail { }',
        '}',
        'loki.write "c" { endpoint { url = sys.environment("X") } }',
        'loki.secretfilter "d" { forward_to = [] }',
        'discovery.relabel "e" { targets = discovery.kubernetes.missing.targets }',
      ].join('\n'),
    );

    expect(alloyConfigProblems(blocks, reference)).toEqual([
      `loki.source.files: not a component of Alloy v${ALLOY_VERSION}`,
      'loki.source.file "b".forward_to[0]: loki.write exports no receivers (it exports receiver)',
      'loki.source.file "b": unknown argument target (allowed: encoding, forward_to, legacy_positions_file, on_positions_file_error, tail_from_end, targets)',
      'loki.source.file "b" > file_match: unknown argument enable (allowed: enabled, ignore_older_than, sync_period)',
      'loki.source.file "b": unknown block tail (allowed: decompression, file_match, file_watch)',
      'loki.write "c" > endpoint.url: sys.environment is not a function of the standard library',
      'loki.secretfilter: experimental, which Alloy refuses at its default stability level',
      'discovery.relabel "e".targets: discovery.kubernetes.missing.targets names no component defined in the file',
    ]);
  });
});

describe('Alloy self-monitoring', () => {
  const reference = alloyReference();
  const groups = (values: ValuesInput) => (YAML.parse(render(values).find('ConfigMap', 'prometheus-rules').data['rules.yaml']) as RuleFile).groups;

  it('alerts on dropped entries and unhealthy components of the alloy job, only when Alloy runs', () => {
    const alloy = groups(ALLOY).find((g) => g.name === 'alloy');

    expect(groups({}).map((g) => g.name)).not.toContain('alloy');
    expect((alloy!.rules as AlertingRule[]).map((rule) => rule.alert)).toEqual(['AlloyLogEntriesDropped', 'AlloyUnhealthyComponents']);
    for (const rule of alloy!.rules as AlertingRule[]) {
      expect(rule.expr, rule.alert).toContain('job="alloy"');
      expect(rule.annotations?.summary, rule.alert).toContain('{{ $labels.pod }}');
    }
  });

  it('queries only metrics Alloy documents, in valid PromQL', () => {
    const documented = new Set([...Object.values(reference.schemas).flatMap((s) => s.metrics), ...reference.controllerMetrics]);
    for (const rule of groups(ALLOY).find((g) => g.name === 'alloy')!.rules) {
      const tree = parser.parse(rule.expr);
      let error = false;
      tree.iterate({
        enter: (node) => {
          if (node.type.isError) error = true;
        },
      });
      expect(error, rule.expr).toBe(false);
      for (const [metric] of rule.expr.matchAll(/\b(loki|alloy)_[a-z_]+/g)) expect(documented, metric).toContain(metric);
    }
  });
});

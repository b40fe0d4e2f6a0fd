/**
 * Parity of the two log agents, proven on the rendered files: the same discovery targets, journal entries and
 * syslog messages go through the relabel rules of the rendered `promtail.yaml` and of the rendered
 * `config.alloy` (read back by the test reader, so a serializer bug shows as a difference), and must come out
 * with identical label sets.
 *
 * The comparisons also run on configs with one rule changed or removed on one side, and must then fail: this
 * proves that the inputs exercise every rule, so that a rule changed on one side only cannot go unnoticed.
 */
import { describe, expect, it } from 'vitest';
import type { ValuesInput } from '../charts/values.ts';
import { AlloyReference } from '../charts/shared/alloy-syntax.ts';
import { component, parseAlloy, type ParsedBlock } from './alloy-parse.ts';
import { relabel, visible, type Relabel } from './relabel.ts';
import { podSpec, render } from './support.ts';

/** The same sources and inventory on both sides; only the agent differs. */
const SHARED: ValuesInput = {
  promtail: { nodeLogs: { journal: true, files: true } },
  syslog: {
    devices: [
      { address: '10.0.0.1', name: 'core-sw1', site: 'dc1', role: 'core-switch' },
      { address: '2001:db8::1', name: 'fw1' },
    ],
  },
};
const promtailSide = render(SHARED);
const alloySide = render({ ...SHARED, logs: { agent: 'alloy' } });

const promtailYaml = promtailSide.configFile('promtail-config', 'promtail.yaml');
const promtailJob = (name: string) => promtailYaml.scrape_configs.find((j: any) => j.job_name === name);
const alloyNode = parseAlloy(alloySide.find('ConfigMap', 'alloy-config').data['config.alloy']);
const alloySyslog = parseAlloy(alloySide.find('ConfigMap', 'syslog-config').data['config.alloy']);

/** The `rule` blocks of a parsed component, as relabel rules. */
function rulesOf(block: ParsedBlock): Relabel[] {
  return block.blocks.filter((b) => b.name === 'rule').map((b) => b.attributes as Relabel);
}

/** The rules a source takes through `relabel_rules`: those of the `loki.relabel` its reference names. */
function referencedRules(blocks: readonly ParsedBlock[], source: ParsedBlock): Relabel[] {
  const reference = source.attributes.relabel_rules;
  if (!(reference instanceof AlloyReference)) throw new Error(`${source.name} "${source.label}" has no relabel_rules reference`);
  const [a, b, label, exported] = reference.path;
  expect(`${a}.${b}`).toBe('loki.relabel');
  expect(exported).toBe('rules');
  return rulesOf(component(blocks, 'loki.relabel', label!));
}

// ---------------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------------

/** A label or annotation name as Prometheus's Kubernetes discovery spells it in a meta label. */
const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly containers: readonly string[];
}

/** The targets Kubernetes pod discovery yields for a pod: one per container, with the pod's metadata. */
function targetsOf(pod: Pod, node = 'node-1'): Array<Record<string, string>> {
  const meta: Record<string, string> = {
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_uid: pod.uid,
    __meta_kubernetes_pod_node_name: node,
  };
  for (const [k, v] of Object.entries(pod.labels ?? {})) {
    meta[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
    meta[`__meta_kubernetes_pod_labelpresent_${sanitize(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries(pod.annotations ?? {})) {
    meta[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v;
    meta[`__meta_kubernetes_pod_annotationpresent_${sanitize(k)}`] = 'true';
  }
  return pod.containers.map((c) => ({ ...meta, __meta_kubernetes_pod_container_name: c }));
}

/** Pods that each exercise one of the labelling rules, and every pod the stack itself renders. */
const PODS: Pod[] = [
  { name: 'bare-0', namespace: 'shop', uid: 'u-bare', containers: ['worker'] },
  { name: 'legacy-0', namespace: 'shop', uid: 'u-legacy', labels: { app: 'legacy' }, containers: ['main', 'sidecar'] },
  { name: 'cart-7d9f', namespace: 'shop', uid: 'u-cart', labels: { app: 'cart-old', 'app.kubernetes.io/name': 'cart' }, containers: ['cart'] },
  { name: 'cart-api-0', namespace: 'shop', uid: 'u-cart-api', labels: { 'app.kubernetes.io/name': 'cart-api' }, containers: ['server'] },
  {
    name: 'cart-eu-0',
    namespace: 'shop',
    uid: 'u-cart-eu',
    labels: { 'app.kubernetes.io/name': 'cart', 'app.kubernetes.io/instance': 'cart-eu' },
    containers: ['cart'],
  },
  {
    name: 'checkout-0',
    namespace: 'shop',
    uid: 'u-checkout',
    labels: { 'app.kubernetes.io/instance': 'checkout-eu' },
    annotations: { 'resource.opentelemetry.io/service.name': 'checkout "v2" \\ ü' },
    containers: ['app'],
  },
  {
    name: 'kube-apiserver-node-1',
    namespace: 'kube-system',
    uid: 'u-mirror',
    annotations: { 'kubernetes.io/config.hash': '5f3a9c', 'kubernetes.io/config.mirror': '5f3a9c' },
    labels: { component: 'kube-apiserver', tier: 'control-plane' },
    containers: ['kube-apiserver'],
  },
  ...[...promtailSide.objects, ...alloySide.objects]
    .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind))
    .map((w, i) => ({
      name: `${w.metadata.name}-${i}`,
      namespace: w.metadata.namespace!,
      uid: `u-${i}`,
      labels: w.spec.template.metadata.labels,
      annotations: w.spec.template.metadata.annotations,
      containers: podSpec(w).containers.map((c: any) => c.name),
    })),
];
const TARGETS = PODS.flatMap((pod) => targetsOf(pod));

const JOURNAL_ENTRIES: Array<Record<string, string>> = [
  {
    __journal__hostname: 'node-1',
    __journal__systemd_unit: 'kubelet.service',
    __journal_syslog_identifier: 'kubelet',
    __journal_priority_keyword: 'warning',
    __journal_priority: '4',
  },
  { __journal__hostname: 'node-2', __journal_syslog_identifier: 'kernel', __journal_priority_keyword: 'crit' },
  { __journal__hostname: 'node-3', __journal__systemd_unit: 'containerd.service', __journal_priority_keyword: 'info' },
];

/** Syslog messages: from inventoried devices, from look-alike addresses, with and without each header field. */
const SYSLOG_MESSAGES: Array<Record<string, string>> = [
  '10.0.0.1',
  '10.0.0.10',
  '110.0.0.1',
  '10a0b0c1',
  '2001:db8::1',
  '2001:db8::10',
  '192.0.2.7',
].flatMap(
  (address, i): Array<Record<string, string>> => [
    {
      __syslog_connection_ip_address: address,
      __syslog_connection_hostname: `h${i}.example.net`,
      __syslog_message_hostname: `device-${i}`,
      __syslog_message_app_name: 'sshd',
      __syslog_message_severity: 'warning',
      __syslog_message_facility: 'auth',
      __syslog_message_proc_id: '1234',
    },
    { __syslog_connection_ip_address: address, __syslog_message_severity: 'informational', __syslog_message_facility: 'local7' },
  ],
);

// ---------------------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------------------

/** What a pod target ships as: its visible labels and the files it reads. */
const shippedPod = (labels: Record<string, string> | undefined) =>
  labels === undefined ? undefined : { ...visible(labels), __path__: labels.__path__ };

/** Every target whose labels differ between the two rule lists. */
function podDifferences(promtail: readonly Relabel[], alloy: readonly Relabel[]): string[] {
  return TARGETS.flatMap((t) => {
    const [p, a] = [shippedPod(relabel(promtail, t)), shippedPod(relabel(alloy, t))];
    return JSON.stringify(p) === JSON.stringify(a)
      ? []
      : [`${t.__meta_kubernetes_pod_name}/${t.__meta_kubernetes_pod_container_name}: promtail ${JSON.stringify(p)}, alloy ${JSON.stringify(a)}`];
  });
}

/** Every entry whose labels differ, given each side's static labels and rules. */
function entryDifferences(
  entries: ReadonlyArray<Record<string, string>>,
  promtail: { labels: Record<string, string>; rules: readonly Relabel[] },
  alloy: { labels: Record<string, string>; rules: readonly Relabel[] },
): string[] {
  return entries.flatMap((entry, i) => {
    const p = visible(relabel(promtail.rules, { ...promtail.labels, ...entry }));
    const a = visible(relabel(alloy.rules, { ...alloy.labels, ...entry }));
    return JSON.stringify(p) === JSON.stringify(a) ? [] : [`entry ${i}: promtail ${JSON.stringify(p)}, alloy ${JSON.stringify(a)}`];
  });
}

/** Each single-rule change of `rules`: every rule removed, and every rule writing to another label. */
function oneRuleChanged(rules: readonly Relabel[]): Array<[string, Relabel[]]> {
  return rules.flatMap(
    (_, i) =>
      [
        [`rule ${i} removed`, rules.filter((_, j) => j !== i)],
        [`rule ${i} targets another label`, rules.map((r, j) => (j === i ? { ...r, target_label: `${r.target_label}_changed` } : r))],
      ] as Array<[string, Relabel[]]>,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Pod logs
// ---------------------------------------------------------------------------------------------------------

describe('pod logs: Promtail and Alloy', () => {
  const promtailRules: Relabel[] = promtailJob('kubernetes-pods').relabel_configs;
  const alloyRules = rulesOf(component(alloyNode, 'discovery.relabel', 'pods'));

  it('give every discovered container the same labels and read the same files', () => {
    expect(TARGETS.length).toBeGreaterThan(20);
    for (const t of TARGETS) {
      expect(Object.keys(visible(relabel(alloyRules, t))), t.__meta_kubernetes_pod_name).toEqual(
        expect.arrayContaining(['namespace', 'pod', 'container', 'node_name', 'service_name']),
      );
    }
    expect(podDifferences(promtailRules, alloyRules)).toEqual([]);
  });

  it('read from discovery.relabel, which loki.source.file reads, with the same CRI stage and dropped filename label', () => {
    const file = component(alloyNode, 'loki.source.file', 'pods');
    const process = component(alloyNode, 'loki.process', 'pods');

    expect((file.attributes.targets as AlloyReference).path).toEqual(['discovery', 'relabel', 'pods', 'output']);
    expect(promtailJob('kubernetes-pods').pipeline_stages).toEqual([{ cri: {} }, { labeldrop: ['filename'] }]);
    expect(process.blocks.map((b) => [b.name, b.attributes])).toEqual([
      ['stage.cri', {}],
      ['stage.label_drop', { values: ['filename'] }],
    ]);
  });

  it.each(oneRuleChanged(promtailRules.filter((r) => r.target_label !== '__host__')).map(([what, rules]) => [what, rules]))(
    'differ when on the Alloy side %s',
    (_, changed) => {
      expect(podDifferences(promtailRules, changed)).not.toEqual([]);
    },
  );

  it.each(oneRuleChanged(alloyRules))('differ when on the Promtail side %s', (_, changed) => {
    expect(podDifferences(changed, alloyRules)).not.toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Journal and node files
// ---------------------------------------------------------------------------------------------------------

describe('journal entries: Promtail and Alloy', () => {
  const journalJob = promtailJob('node-journal');
  const promtail = { labels: journalJob.journal.labels, rules: journalJob.relabel_configs as Relabel[] };
  const source = component(alloyNode, 'loki.source.journal', 'node');
  const alloy = { labels: source.attributes.labels as Record<string, string>, rules: referencedRules(alloyNode, source) };

  it('get the same labels', () => {
    expect(entryDifferences(JOURNAL_ENTRIES, promtail, alloy)).toEqual([]);
    expect(visible(relabel(alloy.rules, { ...alloy.labels, ...JOURNAL_ENTRIES[0] }))).toEqual({
      job: 'node-journal',
      node_name: 'node-1',
      unit: 'kubelet.service',
      app: 'kubelet',
      level: 'warning',
    });
  });

  it.each(oneRuleChanged(alloy.rules))('differ when on the Alloy side %s', (_, rules) => {
    expect(entryDifferences(JOURNAL_ENTRIES, promtail, { ...alloy, rules })).not.toEqual([]);
  });

  it('differ when the Alloy side loses its job label', () => {
    expect(entryDifferences(JOURNAL_ENTRIES, promtail, { ...alloy, labels: {} })).not.toEqual([]);
  });
});

describe('node files: Promtail and Alloy', () => {
  it('get the same labels: job, node_name and filename, on the same files', () => {
    const promtailTarget = visible(relabel(promtailJob('node-files').relabel_configs, { __meta_kubernetes_node_name: 'node-1' }));
    const [alloyTarget] = component(alloyNode, 'loki.source.file', 'node_files').attributes.targets as any[];

    // Alloy reads the node's name from HOSTNAME, which the DaemonSet sets to spec.nodeName.
    expect({ job: alloyTarget.job, node_name: 'node-1' }).toEqual(promtailTarget);
    expect(alloyTarget.__path__).toBe(relabel(promtailJob('node-files').relabel_configs, {})!.__path__);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Syslog
// ---------------------------------------------------------------------------------------------------------

describe('syslog messages: Promtail and Alloy', () => {
  const promtailListeners = promtailSide.configFile('syslog-config', 'promtail.yaml').scrape_configs;
  const source = component(alloySyslog, 'loki.source.syslog', 'devices');
  const alloyRules = referencedRules(alloySyslog, source);

  for (const protocol of ['tcp', 'udp'] as const) {
    const job = promtailListeners.find((j: any) => j.syslog.listen_protocol === protocol);
    const listener = source.blocks.find((b) => b.name === 'listener' && b.attributes.protocol === protocol)!;
    const promtail = { labels: job.syslog.labels, rules: job.relabel_configs as Relabel[] };
    const alloy = { labels: listener.attributes.labels as Record<string, string>, rules: alloyRules };

    it(`get the same labels over ${protocol}, inventory labels included, in the same format`, () => {
      expect(listener.attributes.syslog_format).toBe(job.syslog.syslog_format);
      expect(listener.attributes.use_incoming_timestamp).toBe(job.syslog.use_incoming_timestamp);
      expect(entryDifferences(SYSLOG_MESSAGES, promtail, alloy)).toEqual([]);
      expect(visible(relabel(alloy.rules, { ...alloy.labels, ...SYSLOG_MESSAGES[0] }))).toEqual({
        job: 'syslog',
        host: 'device-0',
        source_ip: '10.0.0.1',
        app: 'sshd',
        level: 'warning',
        facility: 'auth',
        device: 'core-sw1',
        site: 'dc1',
        role: 'core-switch',
      });
    });

    it.each(oneRuleChanged(alloyRules))(`differ over ${protocol} when on the Alloy side %s`, (_, rules) => {
      expect(entryDifferences(SYSLOG_MESSAGES, promtail, { ...alloy, rules })).not.toEqual([]);
    });

    it.each(oneRuleChanged(promtail.rules))(`differ over ${protocol} when on the Promtail side %s`, (_, rules) => {
      expect(entryDifferences(SYSLOG_MESSAGES, { ...promtail, rules }, alloy)).not.toEqual([]);
    });
  }

  it('push to the same Loki with the same cluster label on both agents, from both sources', () => {
    const promtailClients = [promtailYaml, promtailSide.configFile('syslog-config', 'promtail.yaml')].map((c) => c.clients);
    for (const blocks of [alloyNode, alloySyslog]) {
      const write = component(blocks, 'loki.write', 'default');
      expect([{ url: write.blocks[0]!.attributes.url, external_labels: write.attributes.external_labels }]).toEqual(promtailClients[0]);
      expect(promtailClients[1]).toEqual(promtailClients[0]);
    }
  });
});

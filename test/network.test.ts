/**
 * The network is closed: the rendered NetworkPolicies, evaluated, admit every path the stack wires and nothing
 * else but the ports meant to be public. The required traffic is read from the rendered output itself (every
 * in-cluster address in a config or a container's env and args, every pod Prometheus discovers), never restated.
 */
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import type { ValuesInput } from '../charts/values.ts';
import { allowed, connects, egressAllowed, selects, type Address, type Pod, type Port, type Source } from './network-policy.ts';
import { environments, EXTERNAL_METRICS_VALUES, HARDWARE_VALUES, podSpec, render, valueProblems, type K8sObject } from './support.ts';

const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);

/** One connection the stack needs, and why. */
interface Flow {
  readonly why: string;
  readonly source: Source;
  readonly destination: Pod;
  readonly port: Port;
}

const podOf = (w: K8sObject): Pod => ({ namespace: w.metadata.namespace!, labels: w.spec.template.metadata.labels });
const name = (w: K8sObject) => `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;
const containers = (w: K8sObject): any[] => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers];

/** The traffic a rendered stack needs, read from its configuration. */
function requiredFlows(objects: readonly K8sObject[]): Flow[] {
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const configMap = (namespace: string, cmName: string) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === namespace && o.metadata.name === cmName);
  const flows: Flow[] = [];
  for (const consumer of workloads) {
    const ns = consumer.metadata.namespace!;
    const texts = [
      ...(podSpec(consumer).volumes ?? [])
        .filter((v: any) => v.configMap)
        .flatMap((v: any) => Object.values<string>(configMap(ns, v.configMap.name)?.data ?? {})),
      ...containers(consumer).flatMap((c) => [...(c.args ?? []), ...(c.command ?? []), ...(c.env ?? []).map((e: any) => e.value ?? '')]),
    ];
    for (const text of texts) {
      // Wired URLs: the consumer reaches the pods behind the Service, on the Service port's target port.
      for (const [address, svcName, svcNamespace, port] of text.matchAll(/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)/g)) {
        const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === svcName && o.metadata.namespace === svcNamespace);
        if (!service) throw new Error(`${address} names no rendered Service`);
        // A port the Service serves over TCP and UDP (Alertmanager's gossip) is used over both.
        const servicePorts = service.spec.ports.filter((p: any) => p.port === Number(port));
        const providers = workloads.filter(
          (w) => w.metadata.namespace === svcNamespace && selects({ matchLabels: service.spec.selector }, w.spec.template.metadata.labels),
        );
        for (const provider of providers) {
          for (const servicePort of servicePorts) {
            flows.push({
              why: `${name(consumer)} → ${address}`,
              source: podOf(consumer),
              destination: podOf(provider),
              port: { port: servicePort.targetPort, protocol: servicePort.protocol ?? 'TCP' },
            });
          }
        }
      }
      // Replicas of a memberlist ring (Loki's HA monolithic mode) call each other on the gRPC port they serve, at
      // the addresses they register in the ring: none of them is written in the config.
      if (text.includes('join_members')) {
        const config = YAML.parse(text);
        flows.push({
          why: `${name(consumer)} ring members call each other over gRPC`,
          source: podOf(consumer),
          destination: podOf(consumer),
          port: { port: config.server.grpc_listen_port, protocol: 'TCP' },
        });
      }
      // Pods Prometheus discovers in one namespace by label, keeping one named port (podScrapeJob).
      if (!text.includes('scrape_configs')) continue;
      const { scrape_configs: jobs } = YAML.parse(text);
      for (const job of jobs ?? []) {
        const sd = job.kubernetes_sd_configs?.[0];
        const keep = job.relabel_configs?.find(
          (r: any) => r.action === 'keep' && r.source_labels?.[0] === '__meta_kubernetes_pod_container_port_name',
        );
        if (sd?.role !== 'pod' || !sd.namespaces?.names || !keep) continue;
        const labels = Object.fromEntries(sd.selectors[0].label.split(',').map((kv: string) => kv.split('=')));
        for (const target of workloads.filter(
          (w) => sd.namespaces.names.includes(w.metadata.namespace) && selects({ matchLabels: labels }, w.spec.template.metadata.labels),
        )) {
          const port = containers(target)
            .flatMap((c) => c.ports ?? [])
            .find((p: any) => p.name === keep.regex);
          flows.push({
            why: `${name(consumer)} scrapes ${name(target)} (job ${job.job_name})`,
            source: podOf(consumer),
            destination: podOf(target),
            port: { port: port.containerPort, protocol: 'TCP' },
          });
        }
      }
    }
  }
  return flows;
}

/** Every container port of every workload. */
function stackPorts(objects: readonly K8sObject[]): Array<{ workload: K8sObject; port: Port; portName: string }> {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .flatMap((workload) =>
      containers(workload).flatMap((c) =>
        (c.ports ?? []).map((p: any) => ({ workload, port: { port: p.containerPort, protocol: p.protocol ?? 'TCP' }, portName: p.name })),
      ),
    );
}

/**
 * Removes each peer of each rule of `direction` in turn (the whole rule when it has one peer or none), and
 * names the removals after which `breaks` finds nothing broken: rules no required traffic needs.
 */
function unneededPeers(policies: readonly K8sObject[], direction: 'ingress' | 'egress', breaks: (reduced: K8sObject[]) => boolean) {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const peers: string[] = [];
  let checked = 0;
  for (const [p, policy] of policies.entries())
    for (const [r, rule] of ((policy.spec[direction] ?? []) as any[]).entries()) {
      for (let peer = 0; peer < Math.max(rule[peersKey]?.length ?? 0, 1); peer++) {
        const reduced = structuredClone(policies) as K8sObject[];
        const rules = reduced[p]!.spec[direction];
        if (rule[peersKey]?.length > 1) rules[r][peersKey].splice(peer, 1);
        else rules.splice(r, 1);
        if (!breaks(reduced)) peers.push(`${policy.metadata.namespace}/${policy.metadata.name} ${direction} rule ${r} peer ${peer}`);
        checked++;
      }
    }
  return { peers, checked };
}

const UNRELATED: Source = { namespace: 'unrelated', labels: { 'app.kubernetes.io/name': 'anything' } };
const INGRESS: Source = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };

/**
 * Which ports are public: the syslog listeners (to anyone), and the collector's OTLP receivers to every
 * namespace, unless the values narrow them to labelled namespaces (which an unrelated one is not).
 */
function publicPorts(values: ValuesInput) {
  const otlpEverywhere = Object.keys(values.networkPolicy?.otlpNamespaceSelector ?? {}).length === 0;
  return (workload: K8sObject, portName: string): boolean =>
    (otlpEverywhere && workload.metadata.name === 'otel-collector' && portName.startsWith('otlp-')) ||
    (workload.metadata.name === 'syslog' && portName.startsWith('syslog-'));
}

const STACKS: ReadonlyArray<readonly [string, ValuesInput]> = [
  ['the default stack', {}],
  ...environments(),
  ['a Prometheus pair writing to an external metrics store', EXTERNAL_METRICS_VALUES],
];

describe.each(STACKS)('%s', (_, values) => {
  const rendered = render(values);
  const policies = rendered.all('NetworkPolicy');
  const flows = requiredFlows(rendered.objects);
  const isPublic = publicPorts(values);

  it('denies all ingress by default in every namespace it renders', () => {
    for (const ns of rendered.all('Namespace')) {
      const deny = policies.find((p) => p.metadata.namespace === ns.metadata.name && p.metadata.name === 'default-deny-ingress');
      expect(deny?.spec, ns.metadata.name).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    }
  });

  it('allows every wired path from its consumer', () => {
    expect(flows.length).toBeGreaterThan(10);
    for (const flow of flows) expect(allowed(policies, flow.source, flow.destination, flow.port), flow.why).toBe(true);
  });

  it("denies a pod of an unrelated namespace every stack port but the collector's OTLP (unless narrowed) and syslog", () => {
    for (const { workload, port, portName } of stackPorts(rendered.objects)) {
      expect(allowed(policies, UNRELATED, podOf(workload), port), `${name(workload)} ${portName}`).toBe(isPublic(workload, portName));
    }
  });

  it("admits the ingress controller's namespace to Grafana, and to no other private port", () => {
    for (const { workload, port, portName } of stackPorts(rendered.objects)) {
      const expected = isPublic(workload, portName) || (workload.metadata.name === 'grafana' && portName === 'http');
      expect(allowed(policies, INGRESS, podOf(workload), port), `${name(workload)} ${portName}`).toBe(expected);
    }
  });

  it('admits senders outside the cluster only to the syslog listeners', () => {
    for (const { workload, port, portName } of stackPorts(rendered.objects)) {
      expect(allowed(policies, 'outside', podOf(workload), port), `${name(workload)} ${portName}`).toBe(
        workload.metadata.name === 'syslog' && portName.startsWith('syslog-'),
      );
    }
  });

  it('needs every allow rule: removing any one peer breaks a wired path or a public port', () => {
    // An application in a namespace the OTLP selector admits (any namespace when it is empty).
    const application: Source = { namespace: 'apps', labels: {}, namespaceLabels: values.networkPolicy?.otlpNamespaceSelector ?? {} };
    const publicFlows: Flow[] = stackPorts(rendered.objects)
      .filter(({ workload, portName }) =>
        workload.metadata.name === 'syslog'
          ? portName.startsWith('syslog-')
          : workload.metadata.name === 'otel-collector' && portName.startsWith('otlp-'),
      )
      .map(({ workload, port, portName }) => ({
        why: `${name(workload)} ${portName} is public`,
        source: workload.metadata.name === 'syslog' ? 'outside' : application,
        destination: podOf(workload),
        port,
      }));
    const grafana = rendered.find('Deployment', 'grafana');
    const needed = [
      ...flows,
      ...publicFlows,
      { why: 'ingress → grafana', source: INGRESS, destination: podOf(grafana), port: { port: 3000, protocol: 'TCP' } } as Flow,
    ];
    const unneeded = unneededPeers(
      policies,
      'ingress',
      (reduced) => needed.filter((f) => !allowed(reduced, f.source, f.destination, f.port)).length > 0,
    );
    expect(unneeded.checked).toBeGreaterThan(10);
    expect(unneeded.peers).toEqual([]);
  });
});

describe('the network policy hub', () => {
  it('fails when an allow rule is added after the policies rendered, instead of dropping it', () => {
    const r = render();
    expect(() => r.stack.loki!.endpoint.allowFrom(r.stack.grafana.deployment)).toThrow(/added after the network policies rendered/);
  });
});

describe('network policy values', () => {
  it("admit OTLP only from the namespaces the selector names, and the stack's own wired senders", () => {
    const r = render({ networkPolicy: { otlpNamespaceSelector: { 'sightline.io/telemetry': 'otlp' } } });
    const collector = podOf(r.find('Deployment', 'otel-collector'));
    const policies = r.all('NetworkPolicy');
    const otlp: Port = { port: 4318, protocol: 'TCP' };
    expect(allowed(policies, UNRELATED, collector, otlp)).toBe(false);
    expect(allowed(policies, { ...UNRELATED, namespaceLabels: { 'sightline.io/telemetry': 'otlp' } }, collector, otlp)).toBe(true);
    expect(allowed(policies, podOf(r.find('Deployment', 'hello-app')), collector, otlp)).toBe(true);
  });

  it('admit Grafana from the ingress namespace the values name', () => {
    const r = render({ networkPolicy: { ingressNamespace: 'traefik' } });
    const grafana = podOf(r.find('Deployment', 'grafana'));
    const policies = r.all('NetworkPolicy');
    expect(allowed(policies, { namespace: 'traefik', labels: {} }, grafana, { port: 3000, protocol: 'TCP' })).toBe(true);
    expect(allowed(policies, INGRESS, grafana, { port: 3000, protocol: 'TCP' })).toBe(false);
  });

  it('render no policy when switched off', () => {
    expect(render({ networkPolicy: { enabled: false } }).all('NetworkPolicy')).toEqual([]);
  });
});

describe('with egress restricted', () => {
  const API_SERVER: Address = { ip: '10.0.0.1' };
  const values: ValuesInput = { ...HARDWARE_VALUES, networkPolicy: { egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } } };
  const r = render(values);
  const policies = r.all('NetworkPolicy');
  const workloads = r.objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const flows = requiredFlows(r.objects);
  const DNS: Pod & { namespaceLabels: Record<string, string> } = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, namespaceLabels: {} };
  const dnsPort: Port = { port: 53, protocol: 'UDP' };
  const apiPort: Port = { port: 6443, protocol: 'TCP' };
  const unrelatedPod: Pod = { namespace: 'unrelated', labels: { app: 'annotated' } };
  const bmc: Address = { ip: '192.0.2.10' };
  const callsApi = (w: K8sObject) => podSpec(w).automountServiceAccountToken === true;
  const isNamed = (w: K8sObject, prefix: string) => w.metadata.name.startsWith(prefix);

  /** What egress must let out, besides the wired flows. */
  const egressNeeds = [
    ...workloads.map((w) => ({ why: `${name(w)} resolves names`, source: podOf(w), destination: DNS as Pod | Address, port: dnsPort })),
    ...workloads
      .filter(callsApi)
      .map((w) => ({ why: `${name(w)} calls the API server`, source: podOf(w), destination: API_SERVER as Pod | Address, port: apiPort })),
    ...workloads
      .filter((w) => isNamed(w, 'prometheus'))
      .map((w) => ({
        why: 'Prometheus scrapes an annotated pod',
        source: podOf(w),
        destination: unrelatedPod as Pod | Address,
        port: { port: 8080, protocol: 'TCP' } as Port,
      })),
    ...workloads
      .filter((w) => isNamed(w, 'redfish-'))
      .map((w) => ({
        why: `${name(w)} walks a BMC`,
        source: podOf(w),
        destination: bmc as Pod | Address,
        port: { port: 443, protocol: 'TCP' } as Port,
      })),
  ];

  it('lets every wired connection through both ends', () => {
    expect(flows.length).toBeGreaterThan(10);
    for (const flow of flows) expect(connects(policies, flow.source as Pod, flow.destination, flow.port), flow.why).toBe(true);
  });

  it('lets every pod resolve names, the pods that mount a token reach the API server, Prometheus any pod, the exporters their BMCs', () => {
    for (const need of egressNeeds) expect(egressAllowed(policies, need.source, need.destination, need.port), need.why).toBe(true);
  });

  it('keeps every other pod from the API server, from pods it is not wired to, and from the internet', () => {
    for (const w of workloads) {
      expect(egressAllowed(policies, podOf(w), API_SERVER, apiPort), `${name(w)} → API server`).toBe(callsApi(w));
      if (isNamed(w, 'prometheus') || isNamed(w, 'redfish-')) continue;
      expect(egressAllowed(policies, podOf(w), unrelatedPod, { port: 8080, protocol: 'TCP' }), `${name(w)} → unrelated pod`).toBe(false);
      expect(egressAllowed(policies, podOf(w), { ip: '203.0.113.5' }, { port: 443, protocol: 'TCP' }), `${name(w)} → internet`).toBe(false);
    }
    const exporter = workloads.find((w) => isNamed(w, 'redfish-'))!;
    expect(egressAllowed(policies, podOf(exporter), bmc, { port: 22, protocol: 'TCP' })).toBe(false);
  });

  it('needs every egress rule: removing any one peer breaks a wired connection or a need', () => {
    const unneeded = unneededPeers(
      policies,
      'egress',
      (reduced) =>
        flows.some((f) => !connects(reduced, f.source as Pod, f.destination, f.port)) ||
        egressNeeds.some((n) => !egressAllowed(reduced, n.source, n.destination, n.port)),
    );
    expect(unneeded.checked).toBeGreaterThan(10);
    expect(unneeded.peers).toEqual([]);
  });

  it('is off by default: no egress policy', () => {
    expect(
      render()
        .all('NetworkPolicy')
        .filter((p) => p.spec.policyTypes.includes('Egress')),
    ).toEqual([]);
  });

  it('fails when asked for while network policies are off', () => {
    expect(valueProblems({ networkPolicy: { enabled: false, egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } } })).toEqual([
      'networkPolicy.egress.enabled: true is set, but networkPolicy.enabled is false, which renders no policy at all',
    ]);
  });

  it("fails without the API server's addresses", () => {
    expect(valueProblems({ networkPolicy: { egress: { enabled: true } } })).toEqual([
      "networkPolicy.egress.apiServer.cidrs: [] is empty, but restricted egress needs the API server's addresses (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)",
    ]);
  });
});

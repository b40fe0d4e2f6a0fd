/**
 * Who may talk to whom, derived from the wiring: a consumer that takes a published endpoint (or a hub that
 * scrapes or queries one) registers the edge `consumer pods → provider pods on that port`, and the provider's
 * chart renders one NetworkPolicy per workload from every edge registered for it. Nobody writes an allow rule
 * by hand, so a new consumer gets its rule by being wired, and a component added later (Alertmanager, another
 * log agent) joins by publishing endpoints and consuming them like the others.
 *
 * On top of that, each namespace of the stack denies all ingress by default ({@link applyNetworkPolicies}), so
 * a path nobody wired is closed. The same edges, seen from the consumer, give each workload its egress policy
 * when egress is restricted too (optional: it needs the API server's addresses).
 *
 * A NetworkPolicy selects pods and ports, never HTTP paths: where one port serves writes and queries alike
 * (Prometheus's 9090 takes remote write, OTLP and PromQL; Loki's 3100 takes pushes and LogQL), every consumer
 * of that port may do both. Only an authenticating proxy in front of the port could tell them apart.
 *
 * The rendered policies are L1 objects (`KubeNetworkPolicy`): a policy is a hub filled by consumers until
 * synth, and its spec is produced lazily so that a rule registered after it rendered fails loudly instead of
 * vanishing; kplus's `NetworkPolicy` renders rules as they are added and cannot tell when it was rendered.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
import { Chart, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as z from 'zod';
import { PART_OF } from './labels.ts';
import { cidr, dnsLabel, k8sLabelKey, k8sLabelValue, port } from './fields.ts';

/** The label every namespace carries with its own name (set by the API server since Kubernetes 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The pods of one workload, as a NetworkPolicy names them: their namespace and their selector labels. */
export interface PodGroup {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A port pods listen on (the container port, which is what a NetworkPolicy matches, not the Service port). */
export interface PodPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/**
 * Where allowed traffic comes from:
 * - a workload of the stack (its pods, by namespace and selector labels);
 * - every pod of the namespaces whose labels match (`{}`: every namespace), for ports meant for applications;
 * - anywhere, in or outside the cluster, for receivers devices outside the cluster send to.
 */
export type TrafficSource = { readonly pods: PodGroup } | { readonly namespaces: Readonly<Record<string, string>> } | { readonly anywhere: true };

/** A workload whose pods can be the source of traffic. */
export type SourceWorkload = kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet;

/** Something pods serve that other pods may be allowed to reach: an endpoint, or a pod port Prometheus scrapes. */
export interface NetworkTarget {
  /** Allows `source` to reach the target's pods on its port. */
  allowFrom(source: SourceWorkload | TrafficSource): void;
}

/** The pods of a workload of the stack. */
export function podsOf(workload: SourceWorkload): PodGroup {
  const namespace = Chart.of(workload).namespace;
  if (!namespace) throw new Error(`${workload.name} has no namespace, so no policy can name its pods`);
  return { namespace, labels: workload.matchLabels };
}

function sourceOf(source: SourceWorkload | TrafficSource): TrafficSource {
  return source instanceof Construct ? { pods: podsOf(source) } : source;
}

/**
 * Allows `source` into `pods` on `port`: recorded in the chart that owns the pods (where their policy is rendered).
 *
 * @param owner any construct of the chart that renders the pods
 */
export function allowIngress(owner: Construct, pods: PodGroup, port: PodPort, source: SourceWorkload | TrafficSource): void {
  NetworkAccess.of(Chart.of(owner)).allow(pods, port, sourceOf(source));
  // The same edge, seen from the consumer: its egress policy (rendered only when egress is restricted).
  if (source instanceof Construct) NetworkAccess.of(Chart.of(source)).allowEgress(podsOf(source), { pods }, [port]);
}

/**
 * Allows a workload's pods out to `destination` on `ports` (none: every port), for traffic that is no edge
 * of the stack: scrapes of pods found by annotation, exporters walking machines outside the cluster.
 * Matters only when egress is restricted.
 */
export function allowEgress(workload: SourceWorkload, destination: TrafficPeer, ports: readonly PodPort[] = []): void {
  NetworkAccess.of(Chart.of(workload)).allowEgress(podsOf(workload), destination, ports);
}

/** A container port of a workload's pods, as a target (for scrape jobs that find pods by discovery, not through a Service). */
export function podPort(workload: SourceWorkload, port: PodPort): NetworkTarget {
  const pods = podsOf(workload);
  return { allowFrom: (source) => allowIngress(workload, pods, port, source) };
}

/** Pod labels of Services built by `stackService`: what an endpoint's allow rule selects. */
const servicePods = new WeakMap<kplus.Service, Readonly<Record<string, string>>>();

/** Records the pods a Service selects, so that endpoints published from it can name them in policies. */
export function recordServicePods(service: kplus.Service, labels: Readonly<Record<string, string>>): void {
  servicePods.set(service, labels);
}

/** The pods a Service built by `stackService` selects. @throws for any other Service */
export function servicePodsOf(service: kplus.Service): Readonly<Record<string, string>> {
  const labels = servicePods.get(service);
  if (labels === undefined) throw new Error(`Service ${service.name} was not built by stackService, so the pods behind it are unknown`);
  return labels;
}

/** Where allowed egress goes: pods, namespaces, anywhere, or networks by address (the API server). */
export type TrafficPeer = TrafficSource | { readonly cidrs: readonly string[] };

/** One direction of one workload's policy: its peers by port (`*`: every port), in registration order. */
interface PolicyEntry {
  readonly pods: PodGroup;
  readonly ports: Map<string, { readonly ports: readonly PodPort[]; readonly peers: Map<string, TrafficPeer> }>;
}

type Direction = 'ingress' | 'egress';

/**
 * The allow rules of one chart's pods, collected from every edge registered for them: ingress into the pods
 * the chart renders, and egress out of them. Rendered into NetworkPolicies by {@link applyNetworkPolicies};
 * once rendered, a new edge throws.
 */
export class NetworkAccess extends Construct {
  private static readonly ID = 'NetworkAccess';

  /** The chart's collection, created on first use. */
  public static of(chart: Chart): NetworkAccess {
    return (chart.node.tryFindChild(NetworkAccess.ID) as NetworkAccess | undefined) ?? new NetworkAccess(chart, NetworkAccess.ID);
  }

  private readonly entries: Record<Direction, Map<string, PolicyEntry>> = { ingress: new Map(), egress: new Map() };
  private rendered = false;

  /** Allows `source` into `pods` on `port`. */
  public allow(pods: PodGroup, port: PodPort, source: TrafficSource): void {
    this.add('ingress', pods, [port], source);
  }

  /** Allows `pods` out to `destination` on `ports` (none: every port). */
  public allowEgress(pods: PodGroup, destination: TrafficPeer, ports: readonly PodPort[] = []): void {
    this.add('egress', pods, ports, destination);
  }

  private add(direction: Direction, pods: PodGroup, ports: readonly PodPort[], peer: TrafficPeer): void {
    const portKey = ports.length === 0 ? '*' : ports.map((p) => `${p.protocol}/${p.port}`).join(',');
    if (this.rendered) {
      throw new Error(`an ${direction} rule of ${describePods(pods)} on ${portKey} was added after the network policies rendered`);
    }
    const key = describePods(pods);
    const entry = this.entries[direction].get(key) ?? { pods, ports: new Map() };
    this.entries[direction].set(key, entry);
    const rule = entry.ports.get(portKey) ?? { ports, peers: new Map() };
    entry.ports.set(portKey, rule);
    rule.peers.set(JSON.stringify(peer), peer);
  }

  /** Renders one NetworkPolicy per workload and direction that has rules: `<instance>-ingress`, `<instance>-egress`. */
  public render(directions: readonly Direction[], labels: (pods: PodGroup) => Record<string, string>): void {
    for (const direction of directions) {
      for (const [key, { pods }] of this.entries[direction]) {
        const name = `${pods.labels['app.kubernetes.io/instance'] ?? pods.labels['app.kubernetes.io/name']}-${direction}`;
        new kplus.k8s.KubeNetworkPolicy(this, name, {
          metadata: { name, namespace: pods.namespace, labels: labels(pods) },
          spec: Lazy.any({ produce: () => this.spec(direction, this.entries[direction].get(key)!) }),
        });
      }
    }
  }

  private spec(direction: Direction, entry: PolicyEntry): kplus.k8s.NetworkPolicySpec {
    this.rendered = true;
    const isEveryPod = (p: TrafficPeer) => 'namespaces' in p && Object.keys(p.namespaces).length === 0;
    // Every pod on every port (Prometheus's scrapes by annotation) leaves the rules to single pods nothing to add.
    const everyPodAnyPort = [...(entry.ports.get('*')?.peers.values() ?? [])].some(isEveryPod);
    const needed = [...entry.ports].filter(
      ([key, { peers }]) => !(everyPodAnyPort && key !== '*' && [...peers.values()].every((p) => 'pods' in p || 'namespaces' in p)),
    );
    const rules = needed.map(([, { ports, peers }]) => {
      const all = [...peers.values()];
      const rulePorts = ports.length === 0 ? undefined : ports.map((p) => ({ port: kplus.k8s.IntOrString.fromNumber(p.port), protocol: p.protocol }));
      // A rule without peers admits every address, inside the cluster or not; every namespace admits every
      // pod, so the workloads wired in besides add nothing.
      if (all.some((p) => 'anywhere' in p)) return { ports: rulePorts };
      const everyPod = all.find(isEveryPod);
      const peerList = (everyPod ? [everyPod, ...all.filter((p) => 'cidrs' in p)] : all).flatMap(peersOf);
      return direction === 'ingress' ? { ports: rulePorts, from: peerList } : { ports: rulePorts, to: peerList };
    });
    return {
      podSelector: { matchLabels: { ...entry.pods.labels } },
      ...(direction === 'ingress' ? { policyTypes: ['Ingress'], ingress: rules } : { policyTypes: ['Egress'], egress: rules }),
    };
  }
}

function peersOf(peer: TrafficPeer): kplus.k8s.NetworkPolicyPeer[] {
  if ('pods' in peer) {
    return [
      {
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.pods.namespace } },
        podSelector: { matchLabels: { ...peer.pods.labels } },
      },
    ];
  }
  if ('namespaces' in peer) {
    // Every namespace is the empty selector itself: the API server drops an empty matchLabels, so rendering one
    // would make each apply see a change.
    const labels = { ...peer.namespaces };
    return [{ namespaceSelector: Object.keys(labels).length === 0 ? {} : { matchLabels: labels } }];
  }
  if ('cidrs' in peer) return peer.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  throw new Error('anywhere is no peer: a rule without peers admits it');
}

function describePods(pods: PodGroup): string {
  return `${pods.namespace}/${Object.entries(pods.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;
}

/** Where the cluster's DNS and API server are, for egress policies: neither is a pod of the stack. */
export interface EgressOptions {
  /** The cluster DNS pods every pod resolves names with (port 53, UDP and TCP). */
  readonly dns: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  /**
   * The API server's addresses and ports as pods reach them after the `kubernetes` Service's translation (the
   * endpoints, typically port 6443; 443 on managed clusters), for the workloads that mount a token.
   */
  readonly apiServer: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
}

const DNS_PORT = 53;

/**
 * Renders the stack's network policies, once every chart is complete: in each namespace the stack creates, a
 * policy denying all ingress to every pod; for each workload that edges were registered for, a policy
 * allowing exactly those. With `egress`, the same for the other direction: all egress denied but DNS, each
 * workload allowed out to what it consumes, and the workloads that mount a service-account token to the API
 * server. Without `enabled`, nothing is rendered (and the edges stay unused).
 */
export function applyNetworkPolicies(scope: Construct, options: { readonly enabled: boolean; readonly egress?: EgressOptions }): void {
  if (!options.enabled) return;
  const labels = { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' };
  const constructs = scope.node.findAll();
  const egress = options.egress;
  if (egress) {
    for (const workload of constructs) {
      const callsApi =
        (workload instanceof kplus.Deployment || workload instanceof kplus.DaemonSet || workload instanceof kplus.StatefulSet) &&
        workload.automountServiceAccountToken;
      if (callsApi)
        allowEgress(
          workload,
          { cidrs: egress.apiServer.cidrs },
          egress.apiServer.ports.map((port) => ({ port, protocol: 'TCP' })),
        );
    }
  }
  for (const construct of constructs) {
    if (construct instanceof kplus.Namespace) {
      const chart = Chart.of(construct);
      // Kubelet probes come from the node, which NetworkPolicies always admit.
      new kplus.k8s.KubeNetworkPolicy(chart, 'DefaultDenyIngress', {
        metadata: { name: 'default-deny-ingress', namespace: construct.name, labels },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      });
      if (egress) {
        new kplus.k8s.KubeNetworkPolicy(chart, 'DefaultDenyEgress', {
          metadata: { name: 'default-deny-egress', namespace: construct.name, labels },
          spec: { podSelector: {}, policyTypes: ['Egress'] },
        });
        new kplus.k8s.KubeNetworkPolicy(chart, 'AllowDns', {
          metadata: { name: 'allow-dns', namespace: construct.name, labels },
          spec: {
            podSelector: {},
            policyTypes: ['Egress'],
            egress: [
              {
                to: [
                  {
                    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: egress.dns.namespace } },
                    podSelector: { matchLabels: { ...egress.dns.podLabels } },
                  },
                ],
                ports: (['UDP', 'TCP'] as const).map((protocol) => ({ port: kplus.k8s.IntOrString.fromNumber(DNS_PORT), protocol })),
              },
            ],
          },
        });
      }
    }
  }
  // Found again: the API server rules above may have created collections.
  for (const construct of scope.node.findAll()) {
    if (construct instanceof NetworkAccess) construct.render(egress ? ['ingress', 'egress'] : ['ingress'], (pods) => ({ ...pods.labels, ...labels }));
  }
}

/**
 * The stack's NetworkPolicies: all ingress denied in every namespace of the stack, then the paths the stack
 * wires, plus the two openings for what lives outside it.
 */
export const networkPolicyValues = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Render the NetworkPolicies (they take effect only with a CNI plugin that enforces them).'),
    ingressNamespace: dnsLabel()
      .default('ingress-nginx')
      .describe('Namespace of the ingress controller: the only one (besides Prometheus) whose pods may reach Grafana.'),
    otlpNamespaceSelector: z
      .record(k8sLabelKey(), k8sLabelValue())
      .default({})
      .describe('Labels of the namespaces whose pods may send OTLP to the collector. Empty: every namespace.'),
    egress: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Also restrict egress: every pod may resolve names and reach what the stack wires it to, the pods that call the API server reach it, and nothing else.',
          ),
        dns: z
          .strictObject({
            namespace: dnsLabel().default('kube-system').describe('Namespace of the cluster DNS pods.'),
            podLabels: z
              .record(k8sLabelKey(), k8sLabelValue())
              .default({ 'k8s-app': 'kube-dns' })
              .describe('Labels of the cluster DNS pods (CoreDNS keeps k8s-app: kube-dns).'),
          })
          .prefault({}),
        apiServer: z
          .strictObject({
            cidrs: z
              .array(cidr())
              .default([])
              .describe(
                'Addresses of the API server as pods reach it: `kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`. Required with egress.',
              ),
            ports: z
              .array(port())
              .min(1, { error: 'is empty: the API server listens on at least one port' })
              .default([443, 6443])
              .describe(
                "Its ports after the kubernetes Service's translation: the endpoints' port (6443 on most clusters, 443 on some managed ones).",
              ),
          })
          .prefault({}),
      })
      .prefault({})
      .superRefine((v, ctx) => {
        if (v.enabled && v.apiServer.cidrs.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['apiServer', 'cidrs'],
            input: v.apiServer.cidrs,
            message:
              "is empty, but restricted egress needs the API server's addresses (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)",
          });
        }
      }),
  })
  .prefault({})
  .superRefine((v, ctx) => {
    if (v.egress.enabled && !v.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['egress', 'enabled'],
        input: true,
        message: 'is set, but networkPolicy.enabled is false, which renders no policy at all',
      });
    }
  });

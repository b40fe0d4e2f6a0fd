/**
 * A small evaluator of Kubernetes NetworkPolicy ingress semantics, for tests that ask of rendered policies
 * "may this pod reach that pod on this port?", and the traffic a rendered stack needs.
 *
 * Semantics (networking.k8s.io/v1): a pod that no Ingress policy selects admits everything; a pod that some
 * policy selects admits exactly what one rule of one such policy allows. A rule matches when one of its ports
 * matches (no ports: every port) and one of its peers matches (no `from`: every source). A peer's
 * namespaceSelector picks namespaces by their labels (absent: the policy's own namespace), its podSelector
 * picks pods in them (absent: every pod); an ipBlock matches only traffic from outside the pod network here.
 *
 * @see https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
import type { K8sObject } from './support.ts';

/** A pod: its namespace and its labels. */
export interface Pod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Where traffic comes from: a pod in the cluster (whose namespace carries `namespaceLabels`), or outside it. */
export type Source = (Pod & { readonly namespaceLabels?: Readonly<Record<string, string>> }) | 'outside';

/** A port of a pod. */
export interface Port {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Whether `labels` match a label selector (`{}` matches everything). */
export function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        return false;
    }
  });
  return byLabel && byExpression;
}

function namespaceLabelsOf(source: Exclude<Source, 'outside'>): Record<string, string> {
  return { 'kubernetes.io/metadata.name': source.namespace, ...source.namespaceLabels };
}

function peerMatches(peer: any, policyNamespace: string, source: Source): boolean {
  if (peer.ipBlock) return source === 'outside';
  if (source === 'outside') return false;
  const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, namespaceLabelsOf(source)) : source.namespace === policyNamespace;
  return inNamespace && (peer.podSelector ? selects(peer.podSelector, source.labels) : true);
}

function portMatches(rulePort: any, port: Port): boolean {
  if ((rulePort.protocol ?? 'TCP') !== port.protocol) return false;
  if (rulePort.port === undefined) return true;
  if (typeof rulePort.port !== 'number') throw new Error(`named policy ports are not evaluated: ${rulePort.port}`);
  return rulePort.endPort === undefined ? rulePort.port === port.port : port.port >= rulePort.port && port.port <= rulePort.endPort;
}

/** Whether `policies` let `source` reach `destination` on `port`. */
export function allowed(policies: readonly K8sObject[], source: Source, destination: Pod, port: Port): boolean {
  const selecting = policies.filter(
    (p) =>
      p.kind === 'NetworkPolicy' &&
      p.metadata.namespace === destination.namespace &&
      (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selects(p.spec.podSelector ?? {}, destination.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule: any) =>
        (rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((p: any) => portMatches(p, port))) &&
        (rule.from === undefined || rule.from.length === 0 || rule.from.some((peer: any) => peerMatches(peer, policy.metadata.namespace!, source))),
    ),
  );
}

/** A destination outside the pod network (the API server, a BMC, the internet), by IPv4 address. */
export interface Address {
  readonly ip: string;
}

function ipv4(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  if (cidr === '0.0.0.0/0') return true;
  const [network, bits] = cidr.split('/');
  if (network!.includes(':')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(network!) / size);
}

function egressPeerMatches(peer: any, policyNamespace: string, destination: (Pod & { namespaceLabels?: Record<string, string> }) | Address): boolean {
  if ('ip' in destination)
    return (
      peer.ipBlock !== undefined &&
      inCidr(destination.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((e: string) => inCidr(destination.ip, e))
    );
  if (peer.ipBlock) return false;
  return peerMatches(peer, policyNamespace, destination);
}

/** Whether `policies` let `source` send to `destination` on `port` (its own namespace's egress policies only). */
export function egressAllowed(
  policies: readonly K8sObject[],
  source: Pod,
  destination: (Pod & { namespaceLabels?: Record<string, string> }) | Address,
  port: Port,
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.kind === 'NetworkPolicy' &&
      p.metadata.namespace === source.namespace &&
      (p.spec.policyTypes ?? []).includes('Egress') &&
      selects(p.spec.podSelector ?? {}, source.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.egress ?? []).some(
      (rule: any) =>
        (rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((p: any) => portMatches(p, port))) &&
        (rule.to === undefined ||
          rule.to.length === 0 ||
          rule.to.some((peer: any) => egressPeerMatches(peer, policy.metadata.namespace!, destination))),
    ),
  );
}

/** Whether a connection from pod to pod gets through both: the source's egress and the destination's ingress policies. */
export function connects(policies: readonly K8sObject[], source: Pod, destination: Pod, port: Port): boolean {
  return egressAllowed(policies, source, destination, port) && allowed(policies, source, destination, port);
}

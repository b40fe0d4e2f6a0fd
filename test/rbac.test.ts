/**
 * Least privilege: each component's ClusterRole, stated rule by rule with the reason it is needed. A rule
 * that appears without a reason here, or a reason whose rule disappeared, fails.
 */
import { describe, expect, it } from 'vitest';
import { render, type K8sObject } from './support.ts';
import type { ValuesInput } from '../charts/values.ts';

/** Every rule of a ClusterRole as `apiGroup/resource: verbs`, sorted. */
function rules(role: K8sObject): string[] {
  return role.rules
    .flatMap((rule: { apiGroups: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] }) => [
      ...(rule.resources ?? []).flatMap((res) => rule.apiGroups.map((g) => `${g}/${res}: ${[...rule.verbs].sort().join(',')}`)),
      ...(rule.nonResourceURLs ?? []).map((url) => `${url}: ${[...rule.verbs].sort().join(',')}`),
    ])
    .sort();
}

const roleOf = (values: ValuesInput, name: string) => rules(render(values).find('ClusterRole', name));

describe('the ClusterRoles', () => {
  it('let Prometheus read exactly what its discovery and the kubelet scrape use', () => {
    // kubernetes-pods, otel-collector, promtail and syslog discover pods (Prometheus's pod role reads nothing
    // else without attach_metadata); the kubelet job discovers nodes and scrapes each kubelet's /metrics
    // (nodes/metrics, get); Alertmanager is found through the endpoint slices of its Service (the endpointslice
    // role also reads services and pods). Informers never `get`; nothing grants nodes/proxy.
    expect(roleOf({}, 'sightline-prometheus')).toEqual([
      '/nodes/metrics: get',
      '/nodes: list,watch',
      '/pods: list,watch',
      '/services: list,watch',
      'discovery.k8s.io/endpointslices: list,watch',
    ]);
  });

  it('let Promtail list and watch pods, and nodes only when it ships the node files', () => {
    // Pod logs: pod role. The journal is read from the host, no API. Node files: node role, for __host__.
    // Never nodes/proxy: the kubelet's API, from which a root pod on every node could exec into containers.
    expect(roleOf({}, 'sightline-agents-promtail')).toEqual(['/pods: list,watch']);
    expect(roleOf({ promtail: { nodeLogs: { files: true } } }, 'sightline-agents-promtail')).toEqual(['/nodes: list,watch', '/pods: list,watch']);
  });

  it('let the collector read pods, namespaces and ReplicaSets: what k8s_attributes watches for its extract list', () => {
    // k8sattributesprocessor README (contrib v0.159.0): pods and namespaces always; replicasets for
    // k8s.deployment.name. StatefulSet, DaemonSet and Job names come from the pod's owner references.
    expect(roleOf({}, 'sightline-otel-collector')).toEqual([
      '/namespaces: get,list,watch',
      '/pods: get,list,watch',
      'apps/replicasets: get,list,watch',
    ]);
  });

  it('are the only cluster-wide rights the stack grants', () => {
    const names = render({ promtail: { nodeLogs: { files: true } } })
      .all('ClusterRole')
      .map((r) => r.metadata.name)
      .sort();
    expect(names).toEqual(['sightline-agents-promtail', 'sightline-otel-collector', 'sightline-prometheus']);
  });
});

import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { PART_OF } from './shared/labels.ts';
import { clusterScoped } from './shared/workload.ts';

/** The class Kubernetes reserves for pods a node cannot work without; node agents use it. */
export const NODE_CRITICAL = 'system-node-critical';

/** Properties of {@link StackPriority}. */
export interface StackPriorityProps {
  /** Name of the stores' PriorityClass (cluster-scoped: named after the stack's namespace, like its ClusterRoles). */
  readonly storesClassName: string;
  /** Its priority: above 0 (pods without a class), below the system classes. */
  readonly storesValue: number;
  /** Namespace of the node agents, which run as {@link NODE_CRITICAL}. */
  readonly agentsNamespace: string;
}

/**
 * Scheduling priority for the stack: a PriorityClass for the stores, and the quota that lets the node agents'
 * namespace run {@link NODE_CRITICAL} pods.
 *
 * Under node pressure the kubelet evicts lower priorities first, and a pending pod of higher priority preempts
 * lower ones: the stores (whose loss loses data in flight and every signal at once) outrank ordinary workloads,
 * and the node agents (one per node; a node without one ships no logs) outrank everything but the system.
 * Rendered as L1 objects: kplus has no PriorityClass or ResourceQuota.
 */
export class StackPriority extends Chart {
  /** Name of the stores' PriorityClass. */
  public readonly storesClassName: string;

  public constructor(scope: Construct, id: string, props: StackPriorityProps) {
    super(scope, id, { disableResourceNameHashes: true });
    this.storesClassName = props.storesClassName;
    const labels = { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' };
    clusterScoped(
      new kplus.k8s.KubePriorityClass(this, 'Stores', {
        metadata: { name: props.storesClassName, labels },
        value: props.storesValue,
        // Preempting other pods to place a store is the point: a store that cannot be scheduled loses data.
        preemptionPolicy: 'PreemptLowerPriority',
        // Not the global default (`globalDefault` unset: the API server drops a `false` there, and kubectl would
        // then see a change on every apply).
        description: 'Sightline stores (Prometheus, Loki, Tempo): evicted after ordinary workloads, scheduled before them.',
      }),
    );
    // Clusters whose quota admission limits the system classes (some managed ones do) admit them outside
    // kube-system only in a namespace whose ResourceQuota covers them; the quota bounds nothing a DaemonSet reaches.
    new kplus.k8s.KubeResourceQuota(this, 'AgentsCriticalPods', {
      metadata: { name: 'node-critical-pods', namespace: props.agentsNamespace, labels },
      spec: {
        hard: { pods: kplus.k8s.Quantity.fromString('10000') },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [NODE_CRITICAL] }] },
      },
    });
  }
}

/** Runs a workload's pods in the PriorityClass `name` (kplus has no property for it). */
export function setPriorityClass(workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet, name: string): void {
  ApiObject.of(workload).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', name));
}

/**
 * Scheduling priority: the node agents run as `system-node-critical`, and the stores get a PriorityClass of
 * the stack's, so that under pressure other pods are evicted or kept pending before them.
 */
export const priorityValues = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Set priorityClassName on the node agents and the stores, and render the stores' PriorityClass."),
    storeValue: z
      .int({ error: 'is not a priority (a whole number)' })
      .min(1, { error: 'is not above 0, the priority of pods without a class' })
      .max(1_000_000_000, { error: 'is above 1000000000: larger values are reserved for system-cluster-critical and system-node-critical' })
      .default(1_000_000)
      .describe("Priority of the stores' class (<namespace>-stores)."),
  })
  .prefault({});

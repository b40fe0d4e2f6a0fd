/**
 * The signs that a store has outgrown its profile: alerts that fire while there is still time to move to the
 * next one (see the README, Scaling), rather than after the first OOM kill or throttled WAL replay.
 */
import { bytes, millicores } from './units.ts';
import { alertingRule, type AlertingRule, type RuleGroup } from './scrape.ts';
import type { ResourceQuantities } from './workload.ts';

/** Share of a limit above which a store is near it: 80% leaves room for a day's growth and a compaction's peak. */
const NEAR = 0.8;

/** A store, as its capacity alerts see it. */
export interface StoreCapacity {
  /** The store's scrape job (its `job` label). */
  readonly job: string;
  /** The name an operator knows it by, e.g. `Loki`. */
  readonly name: string;
  /** The container's limits, which the alerts measure against. */
  readonly limits: ResourceQuantities;
  /** Further capacity alerts of the store (e.g. ingestion beyond what its deployment mode is sized for). */
  readonly extra?: readonly AlertingRule[];
}

/**
 * Alerts of group `<job>-capacity`: the store's resident memory or CPU near its container limit for 30
 * minutes. Sustained, not a spike: a query burst passes, growth does not. `process_resident_memory_bytes` and
 * `process_cpu_seconds_total` come from client_golang's process collector, which every Go store registers;
 * the limits are the rendered ones, so the alerts follow the values.
 */
export function storeCapacityRules(store: StoreCapacity): RuleGroup {
  const self = `job="${store.job}"`;
  const memory = bytes(store.limits.memory);
  const cores = millicores(store.limits.cpu) / 1000;
  return {
    name: `${store.job}-capacity`,
    rules: [
      alertingRule({
        alert: `${store.name}NearMemoryLimit`,
        expr: `max by (job, instance) (process_resident_memory_bytes{${self}}) / ${memory} > ${NEAR}`,
        for: '30m',
        severity: 'warning',
        summary: `${store.name} {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory limit (${store.limits.memory})`,
        description: `${store.name} has used more than ${NEAR * 100}% of its memory limit for 30 minutes. At the limit the kernel kills it: in-memory data is replayed from the WAL on restart (slow, and lost if the WAL is behind), and queries fail meanwhile. Raise resources.limits.memory (and requests) if the node has room; otherwise move to the next profile (README, Scaling).`,
      }),
      alertingRule({
        alert: `${store.name}NearCpuLimit`,
        expr: `sum by (job, instance) (rate(process_cpu_seconds_total{${self}}[5m])) / ${cores} > ${NEAR}`,
        for: '30m',
        severity: 'warning',
        summary: `${store.name} {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its CPU limit (${store.limits.cpu})`,
        description: `${store.name} has used more than ${NEAR * 100}% of its CPU limit for 30 minutes: it is throttled, ingestion falls behind and queries slow down. Raise resources.limits.cpu if the node has room; otherwise move to the next profile (README, Scaling).`,
      }),
      ...(store.extra ?? []),
    ],
  };
}

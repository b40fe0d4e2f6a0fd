import { describe, expect, it } from 'vitest';
import { NODE_CRITICAL, StackPriority } from '../../charts/priority.ts';
import { freshApp, synthChart } from './alone.ts';

describe('the stack priority, built alone', () => {
  const c = synthChart(
    new StackPriority(freshApp(), 'priority', { storesClassName: 'obs-stores', storesValue: 1000, agentsNamespace: 'obs-agents' }),
  );

  it('gives the stores a cluster-scoped PriorityClass of the value its props name, that preempts and is no default', () => {
    const stores = c.find('PriorityClass', 'obs-stores');
    expect(stores).toMatchObject({ value: 1000, preemptionPolicy: 'PreemptLowerPriority' });
    // false is the API's default, which the render leaves out as the server does (charts/shared/canonical.ts).
    expect(stores.globalDefault ?? false).toBe(false);
    expect(stores.metadata.namespace).toBeUndefined();
  });

  it('admits node-critical pods in the agents namespace through a quota scoped to that class', () => {
    const quota = c.find('ResourceQuota', 'node-critical-pods');
    expect(quota.metadata.namespace).toBe('obs-agents');
    expect(quota.spec.scopeSelector.matchExpressions).toEqual([{ scopeName: 'PriorityClass', operator: 'In', values: [NODE_CRITICAL] }]);
  });
});

import { describe, expect, it } from 'vitest';
import { Alloy } from '../../charts/alloy.ts';
import { DEFAULTS, expectMountsConfig, freshApp, RecordingMetricsHub, stubEndpoint, synthChart } from './alone.ts';
import { SignalTarget } from '../../charts/shared/signal-target.ts';

describe('Alloy, built alone', () => {
  const app = freshApp();
  const pushEndpoint = stubEndpoint(app, 'loki', 3100, { scheme: 'http', path: '/loki/api/v1/push' });
  const push = SignalTarget.embedded(pushEndpoint);
  const metrics = new RecordingMetricsHub();
  const chart = new Alloy(app, 'alloy', {
    namespace: 'agents',
    clusterName: 'lab',
    push,
    nodeLogs: DEFAULTS.promtail.nodeLogs,
    resources: DEFAULTS.logs.alloy.resources,
    metrics,
  });
  const c = synthChart(chart);
  const daemonSet = c.find('DaemonSet', 'alloy');

  it('runs on every node with the config.alloy it mounts, rolled by its checksum, pushing to the endpoint it was given', () => {
    const dir = expectMountsConfig(daemonSet, 'alloy', c.find('ConfigMap', 'alloy-config'));
    expect(daemonSet.spec.template.spec.containers[0].args).toContain(`${dir}/config.alloy`);
    expect(c.find('ConfigMap', 'alloy-config').data['config.alloy']).toContain(`url = "${pushEndpoint.url()}"`);
  });

  it('reads the API as its own ServiceAccount, bound cluster-wide', () => {
    expect(daemonSet.spec.template.spec.serviceAccountName).toBe('alloy');
    expect(c.find('ClusterRoleBinding', 'agents-alloy').subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'alloy', namespace: 'agents' }),
    ]);
  });

  it('contributes its scrape job and alerts to the metrics hub', () => {
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['alloy']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['alloy']);
  });
});

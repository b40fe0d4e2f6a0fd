import { describe, expect, it } from 'vitest';
import { Promtail } from '../../charts/promtail.ts';
import { DEFAULTS, expectMountsConfig, freshApp, RecordingGrafanaHub, RecordingMetricsHub, stubEndpoint, synthChart } from './alone.ts';
import { SignalTarget } from '../../charts/shared/signal-target.ts';

describe('Promtail, built alone', () => {
  const app = freshApp();
  const pushEndpoint = stubEndpoint(app, 'loki', 3100, { scheme: 'http', path: '/loki/api/v1/push' });
  const push = SignalTarget.embedded(pushEndpoint);
  const metrics = new RecordingMetricsHub();
  const grafana = new RecordingGrafanaHub();
  const { nodeLogs, resources } = DEFAULTS.promtail;
  const c = synthChart(new Promtail(app, 'promtail', { namespace: 'agents', clusterName: 'lab', push, nodeLogs, resources, metrics, grafana }));
  const daemonSet = c.find('DaemonSet', 'promtail');

  it('runs on every node with the promtail.yaml it mounts, rolled by its checksum, pushing to the endpoint it was given', () => {
    const dir = expectMountsConfig(daemonSet, 'promtail', c.find('ConfigMap', 'promtail-config'));
    expect(daemonSet.spec.template.spec.containers[0].args).toContain(`-config.file=${dir}/promtail.yaml`);
    expect(c.configFile('promtail-config', 'promtail.yaml').clients).toEqual([
      expect.objectContaining({ url: pushEndpoint.url(), external_labels: { cluster: 'lab' } }),
    ]);
  });

  it('reads the API as its own ServiceAccount, bound cluster-wide', () => {
    expect(daemonSet.spec.template.spec.serviceAccountName).toBe('promtail');
    expect(c.find('ClusterRoleBinding', 'agents-promtail').subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'promtail', namespace: 'agents' }),
    ]);
  });

  it('contributes its scrape job, alerts and dashboard to the hubs', () => {
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['promtail']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['promtail']);
    expect(grafana.dashboards.map((d) => d.uid)).toEqual(['sightline-promtail']);
  });
});

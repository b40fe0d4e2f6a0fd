import { describe, expect, it } from 'vitest';
import { Syslog } from '../../charts/syslog.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, RecordingMetricsHub, stubEndpoint, synthChart } from './alone.ts';
import { SignalTarget } from '../../charts/shared/signal-target.ts';

describe('the syslog receiver, built alone', () => {
  const app = freshApp();
  const pushEndpoint = stubEndpoint(app, 'loki', 3100, { scheme: 'http', path: '/loki/api/v1/push' });
  const push = SignalTarget.embedded(pushEndpoint);
  const metrics = new RecordingMetricsHub();
  const c = synthChart(new Syslog(app, 'syslog', { namespace: 'obs', clusterName: 'lab', push, ...DEFAULTS.syslog, metrics }));
  const deployment = c.find('Deployment', 'syslog');
  const config = c.configFile('syslog-config', 'promtail.yaml');

  it('receives syslog over TCP and UDP through the syslog Service', () => {
    const service = c.find('Service', 'syslog');
    expectServes(service, deployment);
    expect(service.spec.ports.map((p: { protocol: string }) => p.protocol).sort()).toEqual(['TCP', 'UDP']);
  });

  it('runs with the promtail.yaml it mounts, rolled by its checksum, pushing to the endpoint it was given', () => {
    const dir = expectMountsConfig(deployment, 'promtail', c.find('ConfigMap', 'syslog-config'));
    expect(deployment.spec.template.spec.containers[0].args).toContain(`-config.file=${dir}/promtail.yaml`);
    expect(config.clients).toEqual([expect.objectContaining({ url: pushEndpoint.url() })]);
  });

  it('contributes its scrape job and alerts to the metrics hub', () => {
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['syslog']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['syslog']);
  });
});

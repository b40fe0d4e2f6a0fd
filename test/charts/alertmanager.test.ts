import { describe, expect, it } from 'vitest';
import { Alertmanager } from '../../charts/alertmanager.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, synthChart } from './alone.ts';

describe('Alertmanager, built alone', () => {
  const chart = new Alertmanager(freshApp(), 'alertmanager', { namespace: 'obs', ...DEFAULTS.alertmanager });
  const c = synthChart(chart);
  const statefulSet = c.find('StatefulSet', 'alertmanager');

  it('serves its API through the alertmanager Service, and gossips through the headless Service that governs the StatefulSet', () => {
    expectServes(c.find('Service', 'alertmanager'), statefulSet);
    const cluster = c.find('Service', 'alertmanager-cluster');
    expectServes(cluster, statefulSet);
    expect(cluster.spec.clusterIP).toBe('None');
    expect(statefulSet.spec.serviceName).toBe('alertmanager-cluster');
  });

  it('runs with the alertmanager.yml it mounts, rolled by its checksum, routing to the receiver its props name', () => {
    const dir = expectMountsConfig(statefulSet, 'alertmanager', c.find('ConfigMap', 'alertmanager-config'));
    expect(statefulSet.spec.template.spec.containers[0].args).toContain(`--config.file=${dir}/alertmanager.yml`);
    expect(c.configFile('alertmanager-config', 'alertmanager.yml').route.receiver).toBe(DEFAULTS.alertmanager.route.receiver);
  });

  it('publishes the endpoint its Service serves, for Prometheus to send alerts to', () => {
    expect(chart.endpoint.url()).toBe('http://alertmanager.obs.svc.cluster.local:9093');
  });
});

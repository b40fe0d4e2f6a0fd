import { describe, expect, it } from 'vitest';
import { Redfish, type RedfishGroup } from '../../charts/redfish.ts';
import { DEFAULTS, expectServes, freshApp, RecordingGrafanaHub, RecordingMetricsHub, synthChart } from './alone.ts';

describe('the Redfish exporters, built alone', () => {
  // Redfish takes both hubs as required props: hardware monitoring is its scrape targets, alerts and dashboard.
  const metrics = new RecordingMetricsHub();
  const grafana = new RecordingGrafanaHub();
  const group: RedfishGroup = {
    name: 'fra1',
    nodeSelector: { 'sightline.io/bmc-network': 'fra1' },
    hostNetwork: false,
    port: 9610,
    configSecret: { name: 'redfish-fra1', key: 'config.yml' },
    scrapeInterval: '1m',
    scrapeTimeout: '30s',
    servers: [{ name: 'fra1-s01', bmc: '10.0.0.1', labels: {} }],
  };
  const c = synthChart(
    new Redfish(freshApp(), 'redfish', { namespace: 'hw', groups: [group], resources: DEFAULTS.redfish.resources, metrics, grafana }),
  );
  const daemonSet = c.find('DaemonSet', 'redfish-fra1');

  it('runs an exporter on the nodes that reach the group, served by the group Service', () => {
    expect(daemonSet.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'sightline.io/bmc-network', operator: 'In', values: ['fra1'] }] },
    ]);
    expectServes(c.find('Service', 'redfish-fra1'), daemonSet);
  });

  it('reads its config from the Secret created out of band, and renders no Secret', () => {
    expect(daemonSet.spec.template.spec.volumes).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: 'redfish-fra1' }) }),
    );
    expect(c.objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('publishes the servers as target groups of its scrape job, with its alerts and the hardware dashboard', () => {
    expect(JSON.stringify(metrics.targetGroups.get('redfish-fra1'))).toContain('10.0.0.1');
    expect(metrics.jobs).toEqual([expect.objectContaining({ job_name: 'redfish-fra1', scrape_interval: '1m', scrape_timeout: '30s' })]);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['redfish', 'redfish-exporters']);
    expect(grafana.dashboards.map((d) => d.uid)).toEqual(['sightline-server-hardware']);
  });
});

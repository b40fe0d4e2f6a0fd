import { describe, expect, it } from 'vitest';
import { Grafana } from '../../charts/grafana.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, RecordingMetricsHub, synthChart } from './alone.ts';

describe('Grafana, built alone', () => {
  const metrics = new RecordingMetricsHub();
  const c = synthChart(new Grafana(freshApp(), 'grafana', { namespace: 'obs', ...DEFAULTS.grafana, metrics }));
  const deployment = c.find('Deployment', 'grafana');

  it('serves its UI through the grafana Service', () => {
    expectServes(c.find('Service', 'grafana'), deployment);
  });

  it('provisions datasources from the ConfigMap it mounts, rolled by its checksum, with none when nobody contributed one', () => {
    expect(expectMountsConfig(deployment, 'grafana', c.find('ConfigMap', 'grafana-datasources'))).toBe('/etc/grafana/provisioning/datasources');
    expect(c.configFile('grafana-datasources', 'datasources.yaml').datasources).toEqual([]);
  });

  it('provisions its own dashboard, so the dashboard folder is never empty', () => {
    const dashboard = c.find('ConfigMap', 'grafana-dashboard-sightline-grafana');
    expect(JSON.parse(dashboard.data['sightline-grafana.json']).uid).toBe('sightline-grafana');
  });

  it('contributes its scrape job and alerts to the metrics hub', () => {
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['grafana']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['grafana']);
  });
});

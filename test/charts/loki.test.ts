import { describe, expect, it } from 'vitest';
import { Loki } from '../../charts/loki.ts';
import { DATASOURCE_UID } from '../../charts/shared/datasources.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, RecordingGrafanaHub, RecordingMetricsHub, synthChart } from './alone.ts';

describe('Loki, built alone', () => {
  const metrics = new RecordingMetricsHub();
  const grafana = new RecordingGrafanaHub();
  const chart = new Loki(freshApp(), 'loki', { namespace: 'obs', ...DEFAULTS.loki, retention: '14d', metrics, grafana });
  const c = synthChart(chart);
  const statefulSet = c.find('StatefulSet', 'loki');

  it('serves its API through the loki Service and keeps its data on its own claim', () => {
    expectServes(c.find('Service', 'loki'), statefulSet);
    expect(statefulSet.spec.template.spec.volumes).toContainEqual(
      expect.objectContaining({ persistentVolumeClaim: { claimName: 'loki-data', readOnly: false } }),
    );
  });

  it('runs with the loki.yaml it mounts, rolled by its checksum, keeping logs as long as its props say', () => {
    const dir = expectMountsConfig(statefulSet, 'loki', c.find('ConfigMap', 'loki-config'));
    expect(statefulSet.spec.template.spec.containers[0].args).toContain(`-config.file=${dir}/loki.yaml`);
    expect(c.configFile('loki-config', 'loki.yaml').limits_config.retention_period).toBe('14d');
  });

  it('contributes its datasource at its published URL, its dashboard, scrape job and alerts to the hubs', () => {
    expect(grafana.dataSources).toEqual([expect.objectContaining({ uid: DATASOURCE_UID.loki, url: chart.endpoint.url() })]);
    expect(grafana.dashboards.map((d) => d.uid)).toEqual(['sightline-loki']);
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['loki']);
    expect(metrics.ruleGroups.map((g) => g.name)).toEqual(['loki', 'loki-capacity']);
  });
});

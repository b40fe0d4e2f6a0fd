/**
 * The dashboards of the stack's components and of the demo: each shows health, throughput, errors and
 * saturation; every query parses with Prometheus's grammar, selects a job Prometheus scrapes, and uses only
 * metrics the pinned components emit (cited in METRIC_SOURCES).
 */
import { describe, expect, it } from 'vitest';
import { Redfish } from '../charts/redfish.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { METRIC_SOURCES, promql } from './metric-sources.ts';
import { render } from './support.ts';

const r = render();
const jobs: string[] = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.map((j: { job_name: string }) => j.job_name);
const dashboards = r
  .all('ConfigMap')
  .filter(
    (c) =>
      c.metadata.name.startsWith('grafana-dashboard-') &&
      c.metadata.name !== 'grafana-dashboard-providers' &&
      c.metadata.name !== `grafana-dashboard-${Redfish.DASHBOARD_UID}`,
  )
  .map((c) => JSON.parse(c.data[`${c.metadata.name.slice('grafana-dashboard-'.length)}.json`]));

describe('component dashboards', () => {
  it('exist for every component of the default stack and for the demo', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([
      'sightline-alertmanager',
      'sightline-demo-red',
      'sightline-grafana',
      'sightline-loki',
      'sightline-otel-collector',
      'sightline-prometheus',
      'sightline-promtail',
      'sightline-syslog',
      'sightline-tempo',
    ]);
  });

  describe.each(dashboards.map((d) => [d.uid, d] as const))('%s', (_, model) => {
    const rows: string[] = model.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title);
    const panels = model.panels.filter((p: any) => p.type !== 'row');

    it('has a row with panels for each of health, throughput, errors and saturation', () => {
      expect(rows).toEqual(['Health', 'Throughput', 'Errors', 'Saturation']);
      const rowOf = (panel: any) => model.panels.filter((p: any) => p.type === 'row' && p.gridPos.y <= panel.gridPos.y).at(-1).title;
      expect(new Set(panels.map(rowOf))).toEqual(new Set(rows));
    });

    it('queries the provisioned Prometheus in valid PromQL, over jobs Prometheus scrapes and metrics the components emit', () => {
      for (const panel of panels) {
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID.prometheus });
        expect(panel.description, panel.title).toMatch(/\S/);
        for (const { expr } of panel.targets) {
          const { metrics, errors } = promql(expr);
          expect(errors, expr).toEqual([]);
          for (const metric of metrics) expect(Object.keys(METRIC_SOURCES), `${panel.title}: ${metric}`).toContain(metric);
          for (const [, job] of expr.matchAll(/job="([^"]+)"/g)) expect(jobs, expr).toContain(job);
        }
      }
    });
  });
});

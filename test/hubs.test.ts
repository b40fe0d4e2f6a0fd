/**
 * Hubs are one-way and sealed: components contribute until a hub first renders its files, and an addition
 * after that throws, naming the hub and what came too late. A hub's files are rendered once and cached, so a
 * late addition would otherwise be missing from every rendered file without a word.
 */
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { describe, expect, it } from 'vitest';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { render, HARDWARE_VALUES } from './support.ts';

describe('a rendered stack', () => {
  // render() synthesizes the stack, as `npm run synth` does: every hub has rendered its files.
  const { stack } = render(HARDWARE_VALUES);

  it('refuses a scrape job added to Prometheus after it rendered prometheus.yml', () => {
    expect(() => stack.prometheus.addScrapeJob({ job_name: 'late', static_configs: [{ targets: ['late:9100'] }] })).toThrow(
      /^Prometheus cannot take the scrape job "late": it already rendered prometheus\.yml/,
    );
  });

  it('refuses a rule group, and target groups, added to Prometheus after it rendered', () => {
    expect(() => stack.prometheus.addRuleGroup({ name: 'late', rules: [] })).toThrow(/^Prometheus cannot take the rule group "late"/);
    expect(() => stack.prometheus.addTargetGroups('late', [{ targets: ['https://10.0.0.9'] }])).toThrow(
      /^Prometheus cannot take the target groups "late"/,
    );
  });

  it('refuses a datasource and a dashboard added to Grafana after it rendered its provisioning', () => {
    expect(() => stack.grafana.addDataSource({ name: 'Late', uid: 'late', type: 'loki', url: 'http://late:3100' }, stack.loki!.endpoint)).toThrow(
      /^Grafana cannot take the datasource "late": it already rendered/,
    );
    expect(() => stack.grafana.addDashboard(new DashboardBuilder('Late').uid('late').build())).toThrow(/^Grafana cannot take the dashboard "late"/);
  });

  it('refuses a datasource of an external backend added after it rendered, mounting nothing for it', () => {
    const mounts = () => JSON.stringify(stack.grafana.deployment.containers[0]!.mounts.map((m) => m.path));
    const before = mounts();
    const backend = {
      writeUrl: 'https://l/loki/api/v1/push',
      queryUrl: 'https://l',
      auth: { type: 'bearer', secretName: 'late', tokenKey: 't' },
    } as const;
    expect(() => stack.grafana.addExternalDataSource({ name: 'Late', uid: 'late', type: 'loki' }, backend)).toThrow(
      /^Grafana cannot take the datasource "late": it already rendered/,
    );
    expect(mounts()).toBe(before);
  });

  it("rendered every contribution made before: each component's scrape job, datasource and dashboard", () => {
    const r = render(HARDWARE_VALUES);
    const jobs = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.map((j: { job_name: string }) => j.job_name);
    const uids = r.configFile('grafana-datasources', 'datasources.yaml').datasources.map((d: { uid: string }) => d.uid);

    expect(jobs).toEqual(expect.arrayContaining(['prometheus', 'grafana', 'loki', 'tempo', 'otel-collector', 'promtail', 'syslog', 'redfish-fra1']));
    expect(uids).toEqual(expect.arrayContaining(Object.values(DATASOURCE_UID)));
    expect(r.configFile('prometheus-rules', 'rules.yaml').groups.map((g: { name: string }) => g.name)).toContain('redfish');
    expect(r.find('ConfigMap', 'grafana-dashboard-sightline-server-hardware')).toBeDefined();
  });
});

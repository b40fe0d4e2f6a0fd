import { describe, expect, it } from 'vitest';
import { Prometheus } from '../../charts/prometheus.ts';
import { DEFAULTS, checksumOf, expectMountsConfig, expectServes, freshApp, synthChart } from './alone.ts';

describe('Prometheus, built alone', () => {
  const chart = new Prometheus(freshApp(), 'prometheus', { namespace: 'obs', clusterName: 'lab', ...DEFAULTS.prometheus });
  chart.addRuleGroup({ name: 'contributed', rules: [{ alert: 'Contributed', expr: 'vector(1)' }] });
  const c = synthChart(chart);
  const statefulSet = c.find('StatefulSet', 'prometheus');
  const config = c.configFile('prometheus-config', 'prometheus.yml');

  it('serves its API through the prometheus Service', () => {
    expectServes(c.find('Service', 'prometheus'), statefulSet);
  });

  it('runs with the prometheus.yml it mounts, rolled by its checksum, scraping itself and labelling with its cluster', () => {
    const dir = expectMountsConfig(statefulSet, 'prometheus', c.find('ConfigMap', 'prometheus-config'));
    expect(statefulSet.spec.template.spec.containers[0].args).toContain(`--config.file=${dir}/prometheus.yml`);
    expect(config.scrape_configs.map((j: { job_name: string }) => j.job_name)).toContain('prometheus');
    expect(config.global.external_labels).toEqual({ cluster: 'lab' });
  });

  it('loads the rule groups contributed to it from the rules file it mounts, rolled by their own checksum', () => {
    const rules = c.find('ConfigMap', 'prometheus-rules');
    const volume = statefulSet.spec.template.spec.volumes.find((v: any) => v.configMap?.name === 'prometheus-rules');
    const mount = statefulSet.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.name === volume.name);
    expect(config.rule_files).toEqual([`${mount.mountPath}/rules.yaml`]);
    expect(c.configFile('prometheus-rules', 'rules.yaml').groups.map((g: { name: string }) => g.name)).toContain('contributed');
    expect(statefulSet.spec.template.metadata.annotations['checksum/rules']).toBe(checksumOf(rules));
  });

  it('sends alerts nowhere when it was given no Alertmanager', () => {
    expect(config.alerting).toBeUndefined();
  });
});

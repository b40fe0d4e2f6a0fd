import { describe, expect, it } from 'vitest';
import { DATASOURCE_UID } from '../../charts/shared/datasources.ts';
import { Tempo } from '../../charts/tempo.ts';
import { DEFAULTS, expectMountsConfig, expectServes, freshApp, RecordingGrafanaHub, RecordingMetricsHub, stubEndpoint, synthChart } from './alone.ts';

describe('Tempo, built alone', () => {
  const app = freshApp();
  const remoteWrite = stubEndpoint(app, 'prometheus', 9090, { scheme: 'http', path: '/api/v1/write' });
  const metrics = new RecordingMetricsHub();
  const grafana = new RecordingGrafanaHub();
  const chart = new Tempo(app, 'tempo', { namespace: 'obs', ...DEFAULTS.tempo, blockRetention: '14d', remoteWrite: [remoteWrite], metrics, grafana });
  const c = synthChart(chart);
  const statefulSet = c.find('StatefulSet', 'tempo');
  const config = c.configFile('tempo-config', 'tempo.yaml');

  it('receives traces and serves queries through the tempo Service', () => {
    expectServes(c.find('Service', 'tempo'), statefulSet);
  });

  it('runs with the tempo.yaml it mounts, rolled by its checksum, keeping traces as long as its props say', () => {
    const dir = expectMountsConfig(statefulSet, 'tempo', c.find('ConfigMap', 'tempo-config'));
    expect(statefulSet.spec.template.spec.containers[0].args).toContain(`-config.file=${dir}/tempo.yaml`);
    expect(config.backend_worker.compaction.block_retention).toBe('336h');
  });

  it('writes span metrics with exemplars to the remote-write endpoint it was given', () => {
    expect(config.metrics_generator.storage.remote_write).toEqual([{ url: remoteWrite.url(), send_exemplars: true }]);
  });

  it('contributes its datasource at its published URL, without a logs link when given no logs datasource', () => {
    expect(grafana.dataSources).toEqual([expect.objectContaining({ uid: DATASOURCE_UID.tempo, url: chart.endpoint.url() })]);
    expect(grafana.dataSources[0]!.jsonData?.tracesToLogsV2).toBeUndefined();
    expect(metrics.jobs.map((j) => j.job_name)).toEqual(['tempo']);
  });
});

/**
 * The component configs in every committed output use only keys their pinned versions know (the key lists in
 * test/reference/config-keys). The committed outputs equal a fresh render (delivery.test.ts), so this covers
 * what synth renders today.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkKeys, checkObjects, KEY_LISTS } from './config-keys.ts';
import { readInKubectlOrder, ROOT, stackFolders } from './delivery.ts';
import { render } from './support.ts';

const outputs = stackFolders();

describe('the component configs', () => {
  for (const output of outputs) {
    it(`in ${output}/ use only keys that Tempo, Loki, Promtail and the collector know`, () => {
      const objects = readInKubectlOrder(join(ROOT, output)).map((a) => a.object);
      const { checked, problems } = checkObjects(objects);

      expect(problems).toEqual([]);
      // Every component's config was found and looked up: a config the check did not recognise would pass unseen.
      // Loki's, Tempo's and Promtail's are there whenever their image runs (with `logs.agent: alloy`, Alloy's config
      // is checked by alloy.test.ts against its own reference instead; with `loki.external` or `tempo.external`
      // the store is not rendered).
      const runs = (component: string) => component === 'otelcol' || JSON.stringify(objects).includes(`grafana/${component}:`);
      const expected = Object.keys(KEY_LISTS).filter(runs);
      expect(Object.keys(checked).sort()).toEqual(expected.sort());
      for (const count of Object.values(checked)) expect(count).toBeGreaterThan(10);
    });
  }
});

describe('the config key check', () => {
  const tempo = () => render().configFile('tempo-config', 'tempo.yaml');

  it('fails when a Tempo config keeps a Tempo 2.x ingester block, which Tempo 3 refuses', () => {
    const objects = render().objects.map((o) =>
      o.kind === 'ConfigMap' && o.metadata.name === 'tempo-config'
        ? { ...o, data: { ...o.data, 'tempo.yaml': `${o.data['tempo.yaml']}ingester:\n  max_block_duration: 5m\n` } }
        : o,
    );

    const { problems } = checkObjects(objects);

    expect(problems).toEqual(['sightline/tempo-config tempo.yaml (tempo): unknown key ingester (did you mean ingest?)']);
  });

  it('names the nearest known spelling of a misspelt key', () => {
    const config = { ...tempo(), server: { http_listen_prot: 3200 } };

    expect(checkKeys('tempo', config).unknown).toEqual([{ path: 'server.http_listen_prot', nearest: ['http_listen_port'] }]);
  });

  it('fails when a Promtail pipeline stage misspells a key, which Promtail would silently ignore', () => {
    const config = {
      positions: { filename: '/tmp/p.yaml' },
      scrape_configs: [{ job_name: 'pods', pipeline_stages: [{ cri: {} }, { labeldrop: ['a'] }, { regexp: { expression: '.*' } }] }],
    };

    expect(checkKeys('promtail', config).unknown.map((u) => u.path)).toEqual(['scrape_configs[].pipeline_stages[].regexp']);
  });

  it('checks the collector components it has a list for, by type, and skips the others', () => {
    const config = {
      receivers: { otlp: { protocols: { grpc: { endpoint: '0.0.0.0:4317' } } } },
      processors: { k8s_attributes: { anything: true } },
      exporters: { 'otlp_grpc/tempo': { endpoint: 'tempo:4317', tls: { insecure: true }, retry: {} } },
      service: { pipelines: {} },
    };

    expect(checkKeys('otelcol', config).unknown.map((u) => u.path)).toEqual(['exporters.otlp_grpc.retry']);
  });
});

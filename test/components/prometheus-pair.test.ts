/**
 * Prometheus 3.14 running one copy of the HA pair of rendered/scale-out: from the one config file both pods
 * share, the copy labels what leaves it with its own pod name (the external label expanded from the downward
 * API's POD_NAME), and keeps the relabelling that drops that label from its alerts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { readInKubectlOrder, ROOT } from '../delivery.ts';
import {
  describeWithComponents,
  KUBERNETES_BINARIES,
  startCluster,
  startPrometheus,
  stopAll,
  WAIT_TIMEOUT_MS,
  type Cluster,
  type RunningPrometheus,
} from './support.ts';

const FOLDER = join(ROOT, 'rendered', 'scale-out');

describeWithComponents('Prometheus 3.14 as the second copy of the HA pair', [...KUBERNETES_BINARIES, 'prometheus'], (bin) => {
  const objects = readInKubectlOrder(FOLDER).map((a) => a.object);
  let cluster: Cluster;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    cluster = await startCluster(bin);
    prometheus = await startPrometheus(bin, objects, cluster, 'prometheus-1');
  }, 2 * WAIT_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
    await stopAll();
    prometheus?.layout.remove();
  }, WAIT_TIMEOUT_MS);

  it('labels what leaves it with its own pod name, and drops that label from its alerts', async () => {
    const status = (await fetch(`${prometheus.url}/api/v1/status/config`).then((r) => r.json())) as { data: { yaml: string } };
    const loaded = YAML.parse(status.data.yaml);

    const rendered = prometheus.layout.config.global.external_labels;
    expect(rendered.replica).toBe('${POD_NAME}');
    expect(loaded.global.external_labels).toEqual({ cluster: rendered.cluster, replica: 'prometheus-1' });
    expect(loaded.alerting.alert_relabel_configs).toEqual([expect.objectContaining({ action: 'labeldrop', regex: 'replica' })]);
  });
});

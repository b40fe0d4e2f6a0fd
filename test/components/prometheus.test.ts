/**
 * Prometheus 3.14 running the rendered config of rendered/example-hardware (the environment with BMC targets):
 * started with the container's flags on the pod's files, it becomes ready, loads every rule group, discovers
 * every BMC of the inventory from its target files with the labels the relabeling gives it, and takes samples
 * through its remote-write and OTLP receivers.
 */
import { readFileSync } from 'node:fs';
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
  waitFor,
  WAIT_TIMEOUT_MS,
  type Cluster,
  type RunningPrometheus,
} from './support.ts';
import { remoteWriteBody } from './wire.ts';

const FOLDER = join(ROOT, 'rendered', 'example-hardware');

describeWithComponents('Prometheus 3.14 on the rendered config', [...KUBERNETES_BINARIES, 'prometheus'], (bin) => {
  const objects = readInKubectlOrder(FOLDER).map((a) => a.object);
  let cluster: Cluster;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    // The API server its Kubernetes discovery watches (the in-cluster account it uses in a pod does not exist here).
    cluster = await startCluster(bin);
    prometheus = await startPrometheus(bin, objects, cluster);
  }, 2 * WAIT_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
    await stopAll();
    prometheus?.layout.remove();
  }, WAIT_TIMEOUT_MS);

  it('loads every rule group of the rendered rule files', async () => {
    const expected = prometheus.layout.ruleFiles.flatMap(
      (file) => (YAML.parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: unknown[] }> }).groups,
    );
    expect(expected.length).toBeGreaterThan(0);

    const loaded = ((await fetch(`${prometheus.url}/api/v1/rules`).then((r) => r.json())) as any).data.groups as Array<{
      name: string;
      rules: unknown[];
    }>;

    // Prometheus lists the groups file by file, in its own order.
    const byName = (groups: Array<{ name: string; rules: unknown[] }>) => groups.map((g) => [g.name, g.rules.length]).sort();
    expect(byName(loaded)).toEqual(byName(expected));
  });

  it('discovers every BMC of the target files, labelled with its server, group and BMC host', async () => {
    const files = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('prometheus-targets-'));
    const bmcs = files.flatMap((file) =>
      Object.values(file['data'] as Record<string, string>).flatMap((content) =>
        (YAML.parse(content) as Array<{ targets: string[]; labels: Record<string, string> }>).flatMap((group) =>
          group.targets.map((url) => ({ url, labels: group.labels })),
        ),
      ),
    );
    expect(bmcs.length).toBeGreaterThan(0);

    const active = await waitFor('file discovery of every BMC', async () => {
      const targets = ((await fetch(`${prometheus.url}/api/v1/targets`).then((r) => r.json())) as any).data.activeTargets as any[];
      const redfish = targets.filter((t) => t.scrapePool.startsWith('redfish-'));
      return redfish.length >= bmcs.length ? redfish : undefined;
    });

    expect(active).toHaveLength(bmcs.length);
    for (const { url, labels } of bmcs) {
      const target = active.find((t) => t.discoveredLabels.__address__ === url);
      expect(target, url).toBeDefined();
      expect(target.labels).toMatchObject({ ...labels, bmc: url.replace(/^https?:\/\//, ''), job: target.scrapePool });
      expect(target.labels.group).toMatch(/\S/);
      // The exporter is asked for this BMC: the URL goes to the group's exporter with the BMC as its host parameter.
      expect(new URL(target.scrapeUrl).searchParams.get('host')).toBe(url);
    }
  });

  it('accepts a sample through its remote-write receiver that a query then returns', async () => {
    const body = remoteWriteBody({ __name__: 'sightline_component_test', source: 'remote_write' }, 42, Date.now());

    const response = await fetch(`${prometheus.url}/api/v1/write`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      body,
    });

    expect(response.status, await response.text()).toBe(204);
    const result = await waitFor(
      'the remote-written sample',
      async () => (await prometheus.query('sightline_component_test{source="remote_write"}'))?.[0],
    );
    expect(result.value[1]).toBe('42');
  });

  it('accepts a sample through its OTLP receiver, filed under its service name, that a query then returns', async () => {
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'component-test' } }] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'sightline.otlp.test', gauge: { dataPoints: [{ asDouble: 7, timeUnixNano: `${BigInt(Date.now()) * 1_000_000n}` }] } },
              ],
            },
          ],
        },
      ],
    };

    const response = await fetch(`${prometheus.url}/api/v1/otlp/v1/metrics`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
    });

    expect(response.status, await response.text()).toBe(200);
    // The rendered config promotes service.name to a label of the series.
    const result = await waitFor('the OTLP sample', async () => (await prometheus.query('sightline_otlp_test{service_name="component-test"}'))?.[0]);
    expect(result.value[1]).toBe('7');
  });
});

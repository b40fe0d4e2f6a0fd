/**
 * Builds one chart alone, in a fresh App, with stub hubs and endpoints in place of the other charts: proof that
 * a chart depends only on its props, and a fast way to look at its own objects.
 */
import { createHash } from 'node:crypto';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { App, Chart, Testing } from 'cdk8s';
import { expect } from 'vitest';
import type { GrafanaDataSource, GrafanaHub } from '../../charts/shared/datasources.ts';
import { Endpoint } from '../../charts/shared/endpoint.ts';
import type { FileSdConfig, MetricsHub, RuleGroup, ScrapeConfig, StaticConfig } from '../../charts/shared/scrape.ts';
import { CONFIG_CHECKSUM_ANNOTATION, stackService } from '../../charts/shared/workload.ts';
import { parseValues, type Values } from '../../charts/values.ts';
import { lookups, type K8sObject } from '../support.ts';
import type { ExternalBackend } from '../../charts/shared/backend.ts';

/** The default values, validated: each chart's minimal props start from its own section. */
export const DEFAULTS: Values = parseValues({}, 'test values');

/** A fresh App that writes nowhere. */
export function freshApp(): App {
  return new App({ outdir: '/nonexistent', recordConstructMetadata: false });
}

/** A metrics hub that records what a chart contributes. */
export class RecordingMetricsHub implements MetricsHub {
  public readonly jobs: ScrapeConfig[] = [];
  public readonly ruleGroups: RuleGroup[] = [];
  public readonly targetGroups = new Map<string, readonly StaticConfig[]>();
  public addScrapeJob(job: ScrapeConfig): void {
    this.jobs.push(job);
  }
  public addRuleGroup(group: RuleGroup): void {
    this.ruleGroups.push(group);
  }
  public addTargetGroups(name: string, groups: readonly StaticConfig[]): FileSdConfig {
    this.targetGroups.set(name, groups);
    return { files: [`/etc/prometheus/targets/${name}.yaml`] };
  }
}

/** A Grafana hub that records what a chart contributes. */
export class RecordingGrafanaHub implements GrafanaHub {
  public readonly dataSources: GrafanaDataSource[] = [];
  public readonly dashboards: Dashboard[] = [];
  public addDataSource(dataSource: GrafanaDataSource): void {
    this.dataSources.push(dataSource);
  }
  public addExternalDataSource(dataSource: Omit<GrafanaDataSource, 'url'>, backend: ExternalBackend): void {
    this.dataSources.push({ ...dataSource, url: backend.queryUrl });
  }
  public addDashboard(dashboard: Dashboard): void {
    this.dashboards.push(dashboard);
  }
}

/** An endpoint on a Service of a stub chart `name` in namespace `other`, standing in for another component. */
export function stubEndpoint(
  app: App,
  name: string,
  port: number,
  options: Parameters<typeof Endpoint.fromService>[2] = { scheme: 'http' },
): Endpoint {
  const chart = new Chart(app, `stub-${name}`, { namespace: 'other' });
  const service = stackService(chart, 'service', { name, identity: { name, component: 'stub', version: '1' }, ports: [{ name: 'port', port }] });
  return Endpoint.fromService(service, port, options);
}

/** Synthesizes `chart` alone (the stub charts of its App are not part of it), with the lookups `render` offers. */
export function synthChart(chart: Chart): ReturnType<typeof lookups> {
  return lookups(Testing.synth(chart) as K8sObject[]);
}

/**
 * SHA-256 of a ConfigMap's files, computed as `ConfigFiles.checksum` is: the value the pod template of the
 * workload that mounts it must carry, so that a change to a file rolls the pods.
 */
export function checksumOf(configMap: K8sObject): string {
  const hash = createHash('sha256');
  for (const [file, text] of Object.entries<string>(configMap.data ?? {})) hash.update(file).update('\0').update(text).update('\0');
  return hash.digest('hex');
}

/** Asserts that `service` selects the pods of `workload`, and that each of its ports reaches a port a container listens on. */
export function expectServes(service: K8sObject, workload: K8sObject): void {
  expect(workload.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  const listening = workload.spec.template.spec.containers.flatMap((c: any) =>
    (c.ports ?? []).map((p: any) => `${p.containerPort}/${p.protocol ?? 'TCP'}`),
  );
  for (const port of service.spec.ports)
    expect(listening, `${service.metadata.name} port ${port.name}`).toContain(`${port.targetPort}/${port.protocol}`);
}

/**
 * Asserts that container `name` of `workload` mounts `configMap` read-only, that the pod template carries its
 * checksum under `checksum/config`, and returns the directory it is mounted at.
 */
export function expectMountsConfig(workload: K8sObject, name: string, configMap: K8sObject): string {
  const pod = workload.spec.template;
  const volume = pod.spec.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
  expect(volume, `a volume of ConfigMap ${configMap.metadata.name}`).toBeDefined();
  const container = pod.spec.containers.find((c: any) => c.name === name);
  const mount = container.volumeMounts.find((m: any) => m.name === volume.name);
  expect(mount).toMatchObject({ readOnly: true });
  expect(pod.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION]).toBe(checksumOf(configMap));
  return mount.mountPath;
}

/**
 * The Grafana dashboard hub (a provider file, one ConfigMap per dashboard) and the "Server hardware" dashboard.
 */
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { parser } from '@prometheus-io/lezer-promql';
import { App, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { Grafana } from '../charts/grafana.ts';
import { Redfish } from '../charts/redfish.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { parseValues, type ValuesInput } from '../charts/values.ts';
import { podSpec, render, type K8sObject } from './support.ts';

const HARDWARE: ValuesInput = {
  redfish: {
    groups: [{ name: 'fra1', nodeSelector: { 'sightline.io/bmc-network': 'fra1' }, configSecret: { name: 'redfish-fra1' }, servers: [{ name: 'fra1-s01', bmc: '10.0.0.1' }] }],
  },
};

const DASHBOARD_CONFIGMAP = `grafana-dashboard-${Redfish.DASHBOARD_UID}`;

/** A minimal dashboard; `uid` undefined leaves it without one. */
function dashboard(title: string, uid?: string) {
  const builder = new DashboardBuilder(title);
  return uid === undefined ? builder.build() : builder.uid(uid).build();
}

function grafana(): Grafana {
  const values = parseValues({}, 'test values');
  return new Grafana(new App(), 'grafana', { namespace: 'test', ...values.grafana });
}

/** A panel of the rendered dashboard and its queries. */
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

function hardwareDashboard(): { model: any; panels: Panel[] } {
  const model = JSON.parse(render(HARDWARE).find('ConfigMap', DASHBOARD_CONFIGMAP).data[`${Redfish.DASHBOARD_UID}.json`]);
  return { model, panels: model.panels.filter((p: Panel) => p.type !== 'row') };
}

/** PromQL syntax errors in `expr` (Grafana's `$variables` sit inside label values, which PromQL allows). */
function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({ enter: (node) => { if (node.type.isError) errors.push(`at ${node.from}: ${expr.slice(node.from, node.from + 20)}`); } });
  return errors;
}

describe('Grafana dashboard hub', () => {
  it('provisions each dashboard from a ConfigMap of its own, mounted read-only below the provider\'s folder', () => {
    const rendered = render(HARDWARE);
    const provider = rendered.configFile('grafana-dashboard-providers', 'dashboards.yaml').providers;
    const deployment = rendered.find('Deployment', 'grafana');
    const volume = podSpec(deployment).volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === DASHBOARD_CONFIGMAP);
    const mount = podSpec(deployment).containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
    const providerMount = podSpec(deployment).containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/grafana/provisioning/dashboards');

    expect(provider).toEqual([expect.objectContaining({ type: 'file', allowUiUpdates: false, disableDeletion: false, options: { path: '/etc/grafana/dashboards', foldersFromFilesStructure: false } })]);
    expect(mount).toEqual({ name: volume.name, mountPath: `${provider[0].options.path}/${Redfish.DASHBOARD_UID}`, readOnly: true });
    expect(providerMount.readOnly).toBe(true);
  });

  it('puts each dashboard\'s checksum on the pod template, so a changed dashboard rolls Grafana', () => {
    const rendered = render(HARDWARE);
    const annotations = rendered.find('Deployment', 'grafana').spec.template.metadata.annotations;

    expect(annotations[`checksum/dashboard-${Redfish.DASHBOARD_UID}`]).toMatch(/^[0-9a-f]{64}$/);
    expect(annotations['checksum/dashboard-providers']).toMatch(/^[0-9a-f]{64}$/);
    const checksumWith = (title: string) => {
      const hub = grafana();
      hub.addDashboard(dashboard(title, 'a'));
      return Testing.synth(hub).find((o) => o.kind === 'Deployment').spec.template.metadata.annotations['checksum/dashboard-a'];
    };
    expect(checksumWith('A')).toMatch(/^[0-9a-f]{64}$/);
    expect(checksumWith('A changed')).not.toBe(checksumWith('A'));
  });

  it('keeps no ConfigMap near the 262,144 bytes kubectl apply can record', () => {
    const rendered = render(HARDWARE);
    const sizes = rendered.all('ConfigMap').filter((c) => c.metadata.name.startsWith('grafana-')).map((c: K8sObject) => JSON.stringify(c).length);

    expect(Math.max(...sizes)).toBeLessThan(262_144 / 4);
  });

  it('provisions no dashboard provider when there is no dashboard', () => {
    expect(render().configFile('grafana-dashboard-providers', 'dashboards.yaml')).toEqual({ apiVersion: 1, providers: [] });
  });

  it('fails when two dashboards share a uid', () => {
    const hub = grafana();
    hub.addDashboard(dashboard('One', 'hardware'));

    expect(() => hub.addDashboard(dashboard('Two', 'hardware'))).toThrow('Grafana already has a dashboard with uid "hardware"');
  });

  it('fails when a dashboard has no uid that can name its ConfigMap', () => {
    const hub = grafana();

    expect(() => hub.addDashboard(dashboard('No uid'))).toThrow('dashboard "No uid" needs a uid');
    expect(() => hub.addDashboard(dashboard('Bad uid', 'Server_Hardware'))).toThrow('dashboard "Bad uid" needs a uid');
  });
});

describe('Server hardware dashboard', () => {
  it('is provisioned through the hub, under its constant uid', () => {
    const { model } = hardwareDashboard();

    expect(model).toMatchObject({ uid: Redfish.DASHBOARD_UID, title: 'Server hardware', editable: false });
  });

  it('has the health matrix, failing components, power state and scrape panels', () => {
    const { panels } = hardwareDashboard();

    expect(panels.map((p) => `${p.type}: ${p.title}`)).toEqual([
      'stat: Servers',
      'stat: BMC not readable',
      'stat: Unhealthy systems',
      'stat: Failing components',
      'stat: Powered off',
      'table: Health matrix',
      'table: Failing components',
      'state-timeline: System health',
      'state-timeline: Power state',
      'timeseries: BMC walk duration',
      'timeseries: Failed BMC walks',
    ]);
  });

  it('shows one health matrix column per kind of component, from the exporter\'s metrics', () => {
    const matrix = hardwareDashboard().panels.find((p) => p.title === 'Health matrix')!;
    const exprs = matrix.targets!.map((t) => t.expr).join('\n');

    for (const metric of ['up', 'redfish_power_state', 'redfish_health', 'redfish_processor_health', 'redfish_memory_health', 'redfish_storage_health', 'redfish_drive_health']) {
      expect(exprs).toContain(`(${metric}{`);
    }
  });

  it('queries the provisioned Prometheus datasource by its uid constant, everywhere', () => {
    const { model, panels } = hardwareDashboard();

    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID.prometheus });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe(DATASOURCE_UID.prometheus);
    }
    for (const variable of model.templating.list) expect(variable.datasource.uid).toBe(DATASOURCE_UID.prometheus);
  });

  it('writes every query and variable in valid PromQL that selects the exporter jobs Prometheus scrapes', () => {
    const { model, panels } = hardwareDashboard();
    const exprs = panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const variableExprs = model.templating.list.map((v: { query: string }) => /^label_values\((.*), \w+\)$/.exec(v.query)![1]!);
    const jobs = render(HARDWARE).configFile('prometheus-config', 'prometheus.yml').scrape_configs.map((j: { job_name: string }) => j.job_name);

    for (const expr of [...exprs, ...variableExprs]) expect(promqlErrors(expr), expr).toEqual([]);
    const jobMatchers = [...exprs, ...variableExprs].flatMap((e) => [...e.matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]!));
    expect(jobMatchers.length).toBeGreaterThan(0);
    for (const matcher of new Set(jobMatchers)) expect(jobs.filter((j: string) => new RegExp(`^(?:${matcher})$`).test(j))).toEqual(['redfish-fra1']);
    expect(exprs.every((e) => e.includes('group=~"$group", instance=~"$server"'))).toBe(true);
  });
});

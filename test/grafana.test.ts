import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { App, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { Grafana } from '../charts/grafana.ts';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { parseValues } from '../charts/values.ts';
import { container, podSpec, render } from './support.ts';

describe('Grafana', () => {
  const r = render({ grafana: { adminSecret: { name: 'ops-grafana', userKey: 'user', passwordKey: 'pass' }, storage: '2Gi' } });
  const deployment = r.find('Deployment', 'grafana');
  const grafana = container(deployment, 'grafana');
  const env = Object.fromEntries(grafana.env.map((e: any) => [e.name, e]));

  it('takes the admin credentials from the Secret named in values, and no literal password', () => {
    expect(env.GF_SECURITY_ADMIN_USER.valueFrom.secretKeyRef).toEqual({ name: 'ops-grafana', key: 'user' });
    expect(env.GF_SECURITY_ADMIN_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'ops-grafana', key: 'pass' });
    expect(env.GF_SECURITY_ADMIN_PASSWORD.value).toBeUndefined();
    expect(deployment.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('grafana-secret-key,ops-grafana');
    expect(r.all('Secret')).toEqual([]);
  });

  it('turns anonymous access and sign-up off', () => {
    expect(env.GF_AUTH_ANONYMOUS_ENABLED.value).toBe('false');
    expect(env.GF_USERS_ALLOW_SIGN_UP.value).toBe('false');
  });

  it('provisions Prometheus as the default datasource under its constant uid, at its published URL', () => {
    const { datasources } = r.configFile('grafana-datasources', 'datasources.yaml');
    const prometheus = datasources.find((d: any) => d.uid === DATASOURCE_UID.prometheus);
    expect(prometheus).toMatchObject({
      type: 'prometheus',
      url: r.stack.prometheus.endpoint.url(),
      isDefault: true,
      access: 'proxy',
      editable: false,
    });
    expect(datasources.filter((d: any) => d.isDefault)).toHaveLength(1);
  });

  it('rejects a datasource whose uid is taken', () => {
    const fresh = new Grafana(new App(), 'grafana', {
      namespace: 'test',
      ...parseValues({}, 'test values').grafana,
      startupTimeout: '10m',
    });
    // The uid check comes first; where the datasource's endpoint lives does not matter to it.
    const endpoint = { allowFrom: () => {} };
    fresh.addDataSource(r.stack.prometheus.dataSource, endpoint);
    expect(() => fresh.addDataSource({ ...r.stack.prometheus.dataSource, name: 'Other' }, endpoint)).toThrow(/already has a datasource/);
  });

  it('mounts the provisioning read-only and keeps its database on a claim', () => {
    expect(grafana.volumeMounts).toContainEqual({ mountPath: '/etc/grafana/provisioning/datasources', name: 'datasources', readOnly: true });
    expect(grafana.volumeMounts).toContainEqual({ mountPath: '/var/lib/grafana', name: 'data' });
    expect(r.find('PersistentVolumeClaim', 'grafana-data').spec.resources.requests.storage).toBe('2Gi');
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(podSpec(deployment).securityContext).toMatchObject({ fsGroup: 472, fsGroupChangePolicy: 'OnRootMismatch' });
  });

  it('probes /api/health and does not mount an API token it never uses', () => {
    expect(grafana.readinessProbe.httpGet).toMatchObject({ path: '/api/health', port: 3000 });
    expect(grafana.livenessProbe.httpGet).toMatchObject({ path: '/api/health', port: 3000 });
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
  });
});

describe('Grafana dashboard hub', () => {
  const values = parseValues({}, 'test values');

  /** A minimal dashboard; without `uid` it has none. */
  function dashboard(title: string, uid?: string) {
    const builder = new DashboardBuilder(title);
    return uid === undefined ? builder.build() : builder.uid(uid).build();
  }

  /** A Grafana alone with some dashboards, synthesized. */
  function withDashboards(...dashboards: ReturnType<typeof dashboard>[]) {
    const grafana = new Grafana(new App(), 'grafana', { namespace: 'test', ...values.grafana, startupTimeout: '10m' });
    for (const d of dashboards) grafana.addDashboard(d);
    const objects = Testing.synth(grafana);
    const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
    return { find, deployment: find('Deployment', 'grafana') };
  }

  it("provisions each dashboard from a ConfigMap of its own, mounted read-only below the provider's folder", () => {
    const { find, deployment } = withDashboards(dashboard('Hosts', 'hosts'), dashboard('Disks', 'disks'));
    const [provider] = YAML.parse(find('ConfigMap', 'grafana-dashboard-providers').data['dashboards.yaml']).providers;
    const mounts = container(deployment, 'grafana').volumeMounts;

    expect(provider).toMatchObject({
      type: 'file',
      allowUiUpdates: false,
      disableDeletion: false,
      options: { path: '/etc/grafana/dashboards', foldersFromFilesStructure: false },
    });
    expect(mounts).toContainEqual({ mountPath: '/etc/grafana/provisioning/dashboards', name: 'dashboard-providers', readOnly: true });
    for (const uid of ['hosts', 'disks']) {
      const configMap = find('ConfigMap', `grafana-dashboard-${uid}`);
      expect(Object.keys(configMap.data)).toEqual([`${uid}.json`]);
      expect(JSON.parse(configMap.data[`${uid}.json`]).uid).toBe(uid);
      const volume = podSpec(deployment).volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === configMap.metadata.name);
      expect(mounts).toContainEqual({ mountPath: `${provider.options.path}/${uid}`, name: volume.name, readOnly: true });
    }
  });

  it('rolls its pod when a dashboard changes', () => {
    const checksum = (title: string) =>
      withDashboards(dashboard(title, 'hosts')).deployment.spec.template.metadata.annotations['checksum/dashboard-hosts'];

    expect(checksum('Hosts')).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum('Hosts, renamed')).not.toBe(checksum('Hosts'));
  });

  it('provisions its own dashboard, so the provider of the dashboard folder always exists', () => {
    const r = render();
    const { providers } = r.configFile('grafana-dashboard-providers', 'dashboards.yaml');
    expect(providers).toHaveLength(1);
    expect(r.find('ConfigMap', 'grafana-dashboard-sightline-grafana').data).toBeDefined();
  });

  it('rejects a second dashboard with the same uid', () => {
    expect(() => withDashboards(dashboard('One', 'hosts'), dashboard('Two', 'hosts'))).toThrow('Grafana already has a dashboard with uid "hosts"');
  });

  it('rejects a dashboard without a uid that can name its ConfigMap', () => {
    expect(() => withDashboards(dashboard('No uid'))).toThrow('dashboard "No uid" needs a uid');
    expect(() => withDashboards(dashboard('Bad uid', 'Server_Hardware'))).toThrow('dashboard "Bad uid" needs a uid');
  });
});

import { describe, expect, it } from 'vitest';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
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
    expect(deployment.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('ops-grafana');
    expect(r.all('Secret')).toEqual([]);
  });

  it('turns anonymous access and sign-up off', () => {
    expect(env.GF_AUTH_ANONYMOUS_ENABLED.value).toBe('false');
    expect(env.GF_USERS_ALLOW_SIGN_UP.value).toBe('false');
  });

  it('provisions Prometheus as the default datasource under its constant uid, at its published URL', () => {
    const { datasources } = r.configFile('grafana-datasources', 'datasources.yaml');
    const prometheus = datasources.find((d: any) => d.uid === DATASOURCE_UID.prometheus);
    expect(prometheus).toMatchObject({ type: 'prometheus', url: r.stack.prometheus.endpoint.url(), isDefault: true, access: 'proxy', editable: false });
    expect(datasources.filter((d: any) => d.isDefault)).toHaveLength(1);
  });

  it('rejects a datasource whose uid is taken', () => {
    expect(() => r.stack.grafana.addDataSource({ ...r.stack.prometheus.dataSource, name: 'Other' })).toThrow(/already has a datasource/);
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

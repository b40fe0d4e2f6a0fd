import { describe, expect, it } from 'vitest';
import type { ValuesInput } from '../charts/values.ts';
import type { PrometheusConfig } from '../charts/prometheus.ts';
import { container, podSpec, render, valueProblems, type K8sObject } from './support.ts';
import { relabel, visible } from './relabel.ts';

const AGENTS = 'sightline-agents';
const daemonSet = (r: ReturnType<typeof render>) => r.find('DaemonSet', 'promtail', AGENTS);
const promtailYaml = (r: ReturnType<typeof render>) => r.configFile('promtail-config', 'promtail.yaml');
const job = (r: ReturnType<typeof render>, name: string) => promtailYaml(r).scrape_configs.find((j: any) => j.job_name === name);

/** Each mount of the Promtail container with the volume behind it. */
function mounts(ds: K8sObject): Array<{ mountPath: string; readOnly: boolean; volume: any }> {
  const volumes = new Map(podSpec(ds).volumes.map((v: any) => [v.name, v]));
  return container(ds, 'promtail').volumeMounts.map((m: any) => ({
    mountPath: m.mountPath,
    readOnly: m.readOnly === true,
    volume: volumes.get(m.name),
  }));
}

describe('the node agents namespace', () => {
  it('is its own namespace, allowing the host paths Promtail needs, while the stack stays restricted', () => {
    const r = render();
    const agents = r.find('Namespace', AGENTS);
    const stack = r.find('Namespace', 'sightline');

    // hostPath volumes are forbidden by both baseline and restricted.
    expect(agents.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' });
    expect(stack.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(daemonSet(r).metadata.namespace).toBe(AGENTS);
  });

  it('holds the node agents and nothing else', () => {
    const workloads = render().objects.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind) && o.metadata.namespace === AGENTS);

    expect(workloads.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['DaemonSet/promtail']);
  });

  it('takes its name from values', () => {
    const r = render({ promtail: { namespace: 'node-agents' } });

    expect(r.find('DaemonSet', 'promtail').metadata.namespace).toBe('node-agents');
    expect(r.find('Namespace', 'node-agents').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' });
  });
});

describe('the Promtail DaemonSet', () => {
  it('reads pod logs and the journal read-only, and keeps its positions on the node, read-write', () => {
    const all = mounts(daemonSet(render()));
    const hostPaths = all.filter((m) => m.volume.hostPath);
    const positionsDir = promtailYaml(render()).positions.filename.replace(/\/[^/]+$/, '');
    const positions = hostPaths.find((m) => m.mountPath === positionsDir);

    // /var/log holds the pod logs and, where the node keeps one, the persistent journal.
    expect(hostPaths.find((m) => m.volume.hostPath.path === '/var/log')).toMatchObject({
      mountPath: '/var/log',
      readOnly: true,
      volume: { hostPath: { type: 'Directory' } },
    });
    expect(hostPaths.filter((m) => m !== positions).every((m) => m.readOnly)).toBe(true);
    expect(hostPaths.map((m) => m.volume.hostPath.path)).toEqual(expect.arrayContaining(['/run/log/journal', '/etc/machine-id']));
    expect(positions).toMatchObject({ readOnly: false, volume: { hostPath: { path: `/var/lib/${AGENTS}/promtail`, type: 'DirectoryOrCreate' } } });
    expect(all.find((m) => m.volume.configMap)?.readOnly).toBe(true);
  });

  it('never creates /var/log/journal on a node that keeps its journal in memory', () => {
    // journald keeps the journal on disk from its next start once /var/log/journal exists (Storage=auto), and
    // a hostPath of type "" lets the runtime create a missing path: only existing paths are required, and
    // only /run/log/journal, on a tmpfs journald itself recreates at every boot, may be created.
    for (const values of [{}, { promtail: { nodeLogs: { journal: true, files: true } } }]) {
      const hostPaths = mounts(daemonSet(render(values)))
        .filter((m) => m.volume.hostPath)
        .map((m) => m.volume.hostPath);
      expect(hostPaths.map((h) => h.path)).not.toContain('/var/log/journal');
      for (const h of hostPaths) {
        expect(h.type, h.path).toBeDefined();
        if (h.type === 'DirectoryOrCreate') expect(['/run/log/journal', `/var/lib/${AGENTS}/promtail`], h.path).toContain(h.path);
      }
    }
  });

  it('reads /var/log/*.log instead of the journal when values say so', () => {
    const r = render({ promtail: { nodeLogs: { journal: false, files: true } } });
    const hostPaths = mounts(daemonSet(r))
      .filter((m) => m.volume.hostPath && m.readOnly)
      .map((m) => m.volume.hostPath.path);
    const files = job(r, 'node-files');

    expect(hostPaths).toEqual(['/var/log']);
    expect(job(r, 'node-journal')).toBeUndefined();
    // One target per node, kept only by the Promtail of that node (whose HOSTNAME is the node name).
    expect(files.kubernetes_sd_configs).toEqual([{ role: 'node' }]);
    const target = relabel(files.relabel_configs, { __meta_kubernetes_node_name: 'node-1' });
    expect(target).toMatchObject({ __host__: 'node-1', __path__: '/var/log/*.log', node_name: 'node-1', job: 'node-files' });
  });

  it('ships no node log of its own when both sources are off', () => {
    const r = render({ promtail: { nodeLogs: { journal: false, files: false } } });

    expect(promtailYaml(r).scrape_configs.map((j: any) => j.job_name)).toEqual(['kubernetes-pods']);
    expect(
      mounts(daemonSet(r))
        .filter((m) => m.volume.hostPath && m.readOnly)
        .map((m) => m.volume.hostPath.path),
    ).toEqual(['/var/log/pods']);
  });

  it('labels journal entries with node, unit, app and level', () => {
    const journal = job(render(), 'node-journal');
    const entry = relabel(journal.relabel_configs, {
      __journal__hostname: 'node-1',
      __journal__systemd_unit: 'kubelet.service',
      __journal_syslog_identifier: 'kubelet',
      __journal_priority_keyword: 'warning',
    });

    expect(visible({ ...journal.journal.labels, ...entry })).toEqual({
      job: 'node-journal',
      node_name: 'node-1',
      unit: 'kubelet.service',
      app: 'kubelet',
      level: 'warning',
    });
  });

  it('runs on every Linux node, tainted control-plane nodes included', () => {
    const pod = podSpec(daemonSet(render()));

    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
    ]);
  });

  it("knows its node from spec.nodeName and tails only that node's pods", () => {
    const r = render();
    const env = container(daemonSet(r), 'promtail').env;
    const pods = job(r, 'kubernetes-pods');

    expect(env).toContainEqual({ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    // Promtail ignores a target whose __host__ is not its HOSTNAME.
    expect(relabel(pods.relabel_configs, { __meta_kubernetes_pod_node_name: 'node-7' })?.__host__).toBe('node-7');
  });

  it('runs as root only to read root-owned logs: no privilege, no capability, read-only root filesystem', () => {
    const ds = daemonSet(render());
    const promtail = container(ds, 'promtail');

    expect(podSpec(ds).securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(promtail.securityContext).toMatchObject({
      runAsUser: 0,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(promtail.securityContext.capabilities.add).toBeUndefined();
    expect(podSpec(ds).hostNetwork).toBeUndefined();
  });

  it('states its resources from values', () => {
    const ds = daemonSet(render({ promtail: { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } } } }));

    expect(container(ds, 'promtail').resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  });

  it('lists and watches only pods cluster-wide, with a mounted token (the role per source is in rbac.test.ts)', () => {
    const r = render();
    const role = r.find('ClusterRole', `${AGENTS}-promtail`);
    const binding = r.find('ClusterRoleBinding', `${AGENTS}-promtail`);
    const granted = role.rules.flatMap((rule: any) => rule.resources.map((res: string) => `${res}:${[...rule.verbs].sort().join(',')}`));

    expect(role.metadata.namespace).toBeUndefined();
    expect(granted.sort()).toEqual(['pods:list,watch']);
    expect(role.rules.every((rule: any) => rule.apiGroups.every((g: string) => g === ''))).toBe(true);
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec(daemonSet(r)).serviceAccountName, namespace: AGENTS }]);
    expect(podSpec(daemonSet(r)).automountServiceAccountToken).toBe(true);
  });

  it('rolls its pods when promtail.yaml changes', () => {
    const checksum = (values: ValuesInput) => daemonSet(render(values)).spec.template.metadata.annotations['checksum/config'];

    expect(checksum({})).not.toBe(checksum({ clusterName: 'prod' }));
  });
});

describe('pod logs', () => {
  const pods = job(render(), 'kubernetes-pods');
  const meta = {
    __meta_kubernetes_namespace: 'shop',
    __meta_kubernetes_pod_name: 'cart-7d9f-x2x',
    __meta_kubernetes_pod_container_name: 'cart',
    __meta_kubernetes_pod_node_name: 'node-1',
    __meta_kubernetes_pod_uid: '0b6c1f2a',
  };

  it('parses the CRI log format and does not start a stream per log file', () => {
    expect(pods.pipeline_stages).toEqual([{ cri: {} }, { labeldrop: ['filename'] }]);
    expect(pods.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
  });

  it('labels each line with namespace, pod, container, node_name, app and service_name', () => {
    const labels = visible(relabel(pods.relabel_configs, { ...meta, __meta_kubernetes_pod_label_app_kubernetes_io_name: 'cart' }));

    expect(labels).toEqual({ namespace: 'shop', pod: 'cart-7d9f-x2x', container: 'cart', node_name: 'node-1', app: 'cart', service_name: 'cart' });
  });

  it("names service_name as OpenTelemetry names the pod's service, so trace-to-logs finds it", () => {
    const serviceName = (extra: Record<string, string>) => relabel(pods.relabel_configs, { ...meta, ...extra })?.service_name;

    expect(serviceName({})).toBe('cart');
    expect(serviceName({ __meta_kubernetes_pod_label_app: 'legacy' })).toBe('cart');
    expect(serviceName({ __meta_kubernetes_pod_label_app_kubernetes_io_name: 'cart-api' })).toBe('cart-api');
    expect(
      serviceName({
        __meta_kubernetes_pod_label_app_kubernetes_io_name: 'cart-api',
        __meta_kubernetes_pod_label_app_kubernetes_io_instance: 'cart-eu',
      }),
    ).toBe('cart-eu');
    expect(
      serviceName({
        __meta_kubernetes_pod_label_app_kubernetes_io_instance: 'cart-eu',
        __meta_kubernetes_pod_annotation_resource_opentelemetry_io_service_name: 'checkout',
      }),
    ).toBe('checkout');
  });

  it('takes app from app.kubernetes.io/name, else from the app label', () => {
    const app = (extra: Record<string, string>) => relabel(pods.relabel_configs, { ...meta, ...extra })?.app;

    expect(app({ __meta_kubernetes_pod_label_app: 'legacy' })).toBe('legacy');
    expect(app({ __meta_kubernetes_pod_label_app: 'legacy', __meta_kubernetes_pod_label_app_kubernetes_io_name: 'cart' })).toBe('cart');
    expect(app({})).toBeUndefined();
  });

  it("reads a pod's files under its uid, and a static pod's under its config hash", () => {
    const path = (extra: Record<string, string>) => relabel(pods.relabel_configs, { ...meta, ...extra })?.__path__;

    expect(path({})).toBe('/var/log/pods/*0b6c1f2a/cart/*.log');
    expect(
      path({
        __meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash: 'true',
        __meta_kubernetes_pod_annotation_kubernetes_io_config_hash: '5f3a9c',
      }),
    ).toBe('/var/log/pods/*5f3a9c/cart/*.log');
  });
});

describe('Promtail wiring', () => {
  it("pushes to exactly Loki's push endpoint, labelled with the cluster name", () => {
    const r = render({ clusterName: 'prod-eu' });

    expect(promtailYaml(r).clients).toEqual([{ url: r.stack.loki!.pushEndpoint.url(), external_labels: { cluster: 'prod-eu' } }]);
  });

  it("gives each traced workload's logs the service_name its spans carry as service.name", () => {
    const r = render();
    const pods = job(r, 'kubernetes-pods');
    const meta = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
    const traced = r.objects
      .flatMap((o) => (o.kind === 'Deployment' ? podSpec(o).containers.map((c: any) => [o, c] as const) : []))
      .filter(([, c]) => c.env?.some((e: any) => e.name === 'OTEL_SERVICE_NAME'));

    expect(traced.length).toBeGreaterThan(0);
    for (const [workload, c] of traced) {
      const template = workload.spec.template.metadata;
      const discovered = {
        __meta_kubernetes_pod_container_name: c.name,
        ...Object.fromEntries(Object.entries(template.labels ?? {}).map(([k, v]) => [`__meta_kubernetes_pod_label_${meta(k)}`, v])),
        ...Object.fromEntries(Object.entries(template.annotations ?? {}).map(([k, v]) => [`__meta_kubernetes_pod_annotation_${meta(k)}`, v])),
      } as Record<string, string>;
      const serviceName = c.env.find((e: any) => e.name === 'OTEL_SERVICE_NAME').value;
      expect(relabel(pods.relabel_configs, discovered)?.service_name, `${workload.metadata.name}/${c.name}`).toBe(serviceName);
    }
  });

  it('is scraped pod by pod in the agents namespace, on its metrics port', () => {
    const r = render();
    const ds = daemonSet(r);
    const scrape = (r.configFile('prometheus-config', 'prometheus.yml') as PrometheusConfig).scrape_configs.find((j) => j.job_name === 'promtail')!;
    const [sd] = scrape.kubernetes_sd_configs!;
    const metricsPort = container(ds, 'promtail').ports.find((p: any) => p.containerPort === promtailYaml(r).server.http_listen_port);

    expect(sd).toMatchObject({ role: 'pod', namespaces: { names: [AGENTS] } });
    const selected = Object.fromEntries(sd!.selectors![0]!.label!.split(',').map((kv) => kv.split('=')));
    expect(ds.spec.template.metadata.labels).toMatchObject(selected);
    expect(relabel(scrape.relabel_configs as any, { __meta_kubernetes_pod_container_port_name: metricsPort.name })).toBeDefined();
    expect(relabel(scrape.relabel_configs as any, { __meta_kubernetes_pod_container_port_name: 'other' })).toBeUndefined();
  });
});

describe('Promtail values', () => {
  it('fails when promtail.namespace is the stack namespace, which forbids host paths', () => {
    expect(valueProblems({ namespace: 'obs', promtail: { namespace: 'obs' } })).toEqual([
      'promtail.namespace: "obs" is the stack\'s own namespace, whose Pod Security level (restricted) forbids the host paths node agents read: use another',
    ]);
  });

  it('fails when promtail.nodeLogs.journal is not a boolean', () => {
    expect(valueProblems({ promtail: { nodeLogs: { journal: 'yes' } } })).toEqual(['promtail.nodeLogs.journal: "yes" is not a boolean']);
  });
});

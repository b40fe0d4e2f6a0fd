import { describe, expect, it } from 'vitest';
import type { PrometheusConfig } from '../charts/prometheus.ts';
import { container, podSpec, render, valueProblems } from './support.ts';
import { relabel, visible } from './relabel.ts';

const receiverYaml = (r: ReturnType<typeof render>) => r.configFile('syslog-config', 'promtail.yaml');
const listener = (r: ReturnType<typeof render>, protocol: 'tcp' | 'udp') =>
  receiverYaml(r).scrape_configs.find((j: any) => j.syslog.listen_protocol === protocol);
const listenPort = (job: any) => Number(job.syslog.listen_address.split(':').at(-1));

describe('the syslog receiver', () => {
  it('listens on TCP and UDP, one Promtail listener each, behind one Service exposing both', () => {
    const r = render({ syslog: { tcp: { port: 6514 }, udp: { port: 5514 } } });
    const service = r.find('Service', 'syslog');
    const ports = container(r.find('Deployment', 'syslog'), 'promtail').ports;

    expect(
      receiverYaml(r)
        .scrape_configs.map((j: any) => j.syslog.listen_protocol)
        .sort(),
    ).toEqual(['tcp', 'udp']);
    for (const [protocol, servicePort] of [
      ['tcp', 6514],
      ['udp', 5514],
    ] as const) {
      const job = listener(r, protocol);
      const port = service.spec.ports.find((p: any) => p.protocol === protocol.toUpperCase());
      expect(port.port).toBe(servicePort);
      // The Service forwards to the port the listener binds, declared on the container for that protocol.
      expect(port.targetPort).toBe(listenPort(job));
      expect(ports).toContainEqual(expect.objectContaining({ containerPort: listenPort(job), protocol: protocol.toUpperCase() }));
      expect(job.syslog.listen_address.startsWith('0.0.0.0:')).toBe(true);
    }
  });

  it('expects RFC5424 on TCP and RFC3164 on UDP by default, and takes formats from values', () => {
    const byDefault = render();
    const swapped = render({ syslog: { tcp: { format: 'rfc3164' }, udp: { format: 'rfc5424' } } });

    expect(listener(byDefault, 'tcp').syslog.syslog_format).toBe('rfc5424');
    expect(listener(byDefault, 'udp').syslog.syslog_format).toBe('rfc3164');
    expect(listener(swapped, 'tcp').syslog.syslog_format).toBe('rfc3164');
    expect(listener(swapped, 'udp').syslog.syslog_format).toBe('rfc5424');
  });

  it.each(['NodePort', 'LoadBalancer'] as const)('keeps the source address on a %s Service (externalTrafficPolicy: Local)', (serviceType) => {
    const service = render({ syslog: { serviceType } }).find('Service', 'syslog');

    expect(service.spec.type).toBe(serviceType);
    expect(service.spec.externalTrafficPolicy).toBe('Local');
  });

  it('sets no traffic policy on a ClusterIP Service, which has no external traffic', () => {
    const service = render({ syslog: { serviceType: 'ClusterIP' } }).find('Service', 'syslog');

    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.externalTrafficPolicy).toBeUndefined();
  });

  it('labels each message with job, host, source_ip, app, level and facility', () => {
    for (const protocol of ['tcp', 'udp'] as const) {
      const job = listener(render(), protocol);
      const entry = relabel(job.relabel_configs, {
        __syslog_connection_ip_address: '192.0.2.10',
        __syslog_connection_hostname: 'edge1.example.net',
        __syslog_message_hostname: 'edge1',
        __syslog_message_app_name: 'sshd',
        __syslog_message_severity: 'warning',
        __syslog_message_facility: 'auth',
      });

      expect(visible({ ...job.syslog.labels, ...entry })).toEqual({
        job: 'syslog',
        host: 'edge1',
        source_ip: '192.0.2.10',
        app: 'sshd',
        level: 'warning',
        facility: 'auth',
      });
    }
  });

  it('labels messages from an inventoried address with its device, site and role, and no other address', () => {
    const r = render({
      syslog: {
        devices: [
          { address: '10.0.0.1', name: 'core-sw1', site: 'dc1', role: 'core-switch' },
          { address: '2001:db8::1', name: 'fw1' },
        ],
      },
    });
    for (const protocol of ['tcp', 'udp'] as const) {
      const labelsOf = (address: string) => visible(relabel(listener(r, protocol).relabel_configs, { __syslog_connection_ip_address: address }));

      expect(labelsOf('10.0.0.1')).toMatchObject({ device: 'core-sw1', site: 'dc1', role: 'core-switch' });
      expect(labelsOf('2001:db8::1')).toMatchObject({ device: 'fw1' });
      expect(labelsOf('2001:db8::1').site).toBeUndefined();
      for (const other of ['10.0.0.10', '110.0.0.1', '10a0b0c1']) expect(labelsOf(other).device).toBeUndefined();
    }
  });

  it("stamps messages with the receive time unless values trust the devices' clocks", () => {
    expect(listener(render(), 'udp').syslog.use_incoming_timestamp).toBe(false);
    expect(listener(render({ syslog: { useIncomingTimestamp: true } }), 'tcp').syslog.use_incoming_timestamp).toBe(true);
  });

  it('runs one non-root, unprivileged replica in the restricted namespace, without an API token', () => {
    const r = render({ syslog: { resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } } } });
    const deployment = r.find('Deployment', 'syslog');
    const promtail = container(deployment, 'promtail');

    expect(deployment.metadata.namespace).toBe('sightline');
    expect(deployment.spec.replicas).toBe(1);
    expect(podSpec(deployment).automountServiceAccountToken).toBe(false);
    expect(promtail.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(promtail.securityContext.runAsUser).toBeGreaterThan(0);
    expect(promtail.resources).toEqual({ requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } });
    expect(podSpec(deployment).volumes.some((v: any) => v.hostPath)).toBe(false);
  });

  it("pushes to exactly Loki's push endpoint, labelled with the cluster name", () => {
    const r = render({ clusterName: 'site-a' });

    expect(receiverYaml(r).clients).toEqual([{ url: r.stack.loki!.pushEndpoint.url(), external_labels: { cluster: 'site-a' } }]);
  });

  it('is scraped pod by pod, and its Service does not expose metrics to the network', () => {
    const r = render({ syslog: { serviceType: 'LoadBalancer' } });
    const deployment = r.find('Deployment', 'syslog');
    const scrape = (r.configFile('prometheus-config', 'prometheus.yml') as PrometheusConfig).scrape_configs.find((j) => j.job_name === 'syslog')!;
    const [sd] = scrape.kubernetes_sd_configs!;
    const metricsPort = receiverYaml(r).server.http_listen_port;

    const selected = Object.fromEntries(sd!.selectors![0]!.label!.split(',').map((kv) => kv.split('=')));
    expect(sd!.namespaces?.names).toEqual(['sightline']);
    expect(deployment.spec.template.metadata.labels).toMatchObject(selected);
    expect(r.find('Service', 'syslog').spec.ports.map((p: any) => p.targetPort)).not.toContain(metricsPort);
  });
});

describe('syslog values', () => {
  const problems = (syslog: unknown) => valueProblems({ syslog });

  it('fails when two devices have the same address', () => {
    expect(
      problems({
        devices: [
          { address: '10.0.0.1', name: 'sw1' },
          { address: '10.0.0.1', name: 'sw2' },
        ],
      }),
    ).toEqual(['syslog.devices[1].address: "10.0.0.1" is already the address of syslog.devices[0]']);
  });

  it('fails when the Service type is not one Kubernetes offers for devices', () => {
    expect(problems({ serviceType: 'ExternalName' })).toEqual([
      'syslog.serviceType: "ExternalName" is not one of "ClusterIP", "NodePort", "LoadBalancer"',
    ]);
  });
});

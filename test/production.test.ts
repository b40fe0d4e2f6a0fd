/**
 * What a production profile promises beyond the defaults: replicated workloads survive a drain and a node loss,
 * the agents and stores outrank ordinary pods, slow starts are not killed, and the openings to the outside (the
 * syslog load balancer, Loki's delete API, Grafana's secret key) are closed or come from values.
 */
import { describe, expect, it } from 'vitest';
import { SYNC_WAVE_ANNOTATION, syncWave } from '../charts/shared/delivery.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import type { ValuesInput } from '../charts/values.ts';
import { selects } from './network-policy.ts';
import { container, environments, podSpec, render, valueProblems, type K8sObject } from './support.ts';

const REPLICATED_KINDS = new Set(['Deployment', 'StatefulSet']);
const PRODUCTION = Object.fromEntries(environments())['environments/production.yaml']!;

/** The default stack, every environment, and a stack whose every scalable workload runs several pods. */
const STACKS: ReadonlyArray<readonly [string, ValuesInput]> = [
  ['the default stack', {}],
  ...environments(),
  ['a stack with replicated gateway and demo', { otelCollector: { replicas: 3 }, helloApp: { replicas: 2 } }],
];

describe.each(STACKS)('%s', (_, values) => {
  const r = render(values);
  const replicated = r.objects.filter((o) => REPLICATED_KINDS.has(o.kind) && o.spec.replicas > 1);
  const budgets = r.all('PodDisruptionBudget');
  const selecting = (w: K8sObject) =>
    budgets.filter((b) => b.metadata.namespace === w.metadata.namespace && selects(b.spec.selector, w.spec.template.metadata.labels));

  it('gives every workload of several replicas a PodDisruptionBudget that drains one pod at a time', () => {
    for (const w of replicated) {
      const found = selecting(w);
      expect(
        found.map((b) => b.metadata.name),
        `${w.kind} ${w.metadata.name}`,
      ).toHaveLength(1);
      expect(found[0]!.spec.maxUnavailable, `${w.kind} ${w.metadata.name}`).toBe(1);
    }
  });

  it('spreads every workload of several replicas over nodes and zones, without refusing to schedule', () => {
    for (const w of replicated) {
      const spread = podSpec(w).topologySpreadConstraints ?? [];
      expect(
        spread.map((c: any) => c.topologyKey),
        w.metadata.name,
      ).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of spread) {
        expect(c.whenUnsatisfiable).toBe('ScheduleAnyway');
        expect(selects(c.labelSelector, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
      }
    }
  });

  it('never lets Argo CD prune a data claim, even one that left the rendered folder', () => {
    const claims = r.all('PersistentVolumeClaim');
    expect(claims.length).toBeGreaterThan(0);
    for (const claim of claims)
      expect(claim.metadata.annotations?.['argocd.argoproj.io/sync-options']?.split(','), claim.metadata.name).toContain('Prune=false');
  });

  it('puts no budget on a single pod, where it could only block drains or mean nothing', () => {
    for (const b of budgets) {
      const targets = r.objects.filter((o) => REPLICATED_KINDS.has(o.kind) && selecting(o).includes(b));
      expect(
        targets.every((t) => t.spec.replicas > 1),
        b.metadata.name,
      ).toBe(true);
    }
  });
});

describe('the production profile', () => {
  const r = render(PRODUCTION);

  it('replicates the OTLP gateway', () => {
    expect(r.find('Deployment', 'otel-collector').spec.replicas).toBeGreaterThan(1);
  });

  it('runs the node agents as system-node-critical, with the quota some clusters require for it', () => {
    const promtail = r.find('DaemonSet', 'promtail');
    expect(podSpec(promtail).priorityClassName).toBe('system-node-critical');
    const quota = r.find('ResourceQuota', 'node-critical-pods', promtail.metadata.namespace);
    expect(quota.spec.scopeSelector.matchExpressions).toEqual([{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }]);
  });

  it('runs the stores in a PriorityClass of the stack, rendered cluster-scoped before any pod', () => {
    const name = `${PRODUCTION.namespace}-stores`;
    const priorityClass = r.find('PriorityClass', name);
    expect(priorityClass.metadata.namespace).toBeUndefined();
    expect(priorityClass.value).toBeGreaterThan(0);
    expect(priorityClass.value).toBeLessThanOrEqual(1_000_000_000);
    expect(priorityClass.globalDefault).toBeUndefined();
    expect(Number(priorityClass.metadata.annotations?.[SYNC_WAVE_ANNOTATION])).toBeLessThan(syncWave('Deployment'));
    for (const store of ['prometheus', 'loki', 'tempo']) expect(podSpec(r.find('StatefulSet', store)).priorityClassName, store).toBe(name);
    // kubectl applies files in name order: the class exists before a store's pods ask for it.
    const files = r.stack.app.charts.map((c) => c.node.id);
    expect(files.indexOf('priority')).toBeLessThan(files.indexOf('prometheus'));
  });

  it('gives Prometheus at least 15 minutes to replay its WAL before liveness counts', () => {
    const startup = container(r.find('StatefulSet', 'prometheus'), 'prometheus').startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(15 * 60);
  });

  it("closes the syslog load balancer to all but the devices' networks, on an internal load balancer", () => {
    const service = r.find('Service', 'syslog');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.loadBalancerSourceRanges).toEqual(PRODUCTION.syslog!.loadBalancerSourceRanges);
    expect(service.metadata.annotations).toMatchObject(PRODUCTION.syslog!.serviceAnnotations!);
  });
});

describe('outside the production profile', () => {
  const r = render();

  it("names no priority class, since nothing renders the stores' one", () => {
    expect(r.all('PriorityClass')).toEqual([]);
    for (const w of r.objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)))
      expect(podSpec(w).priorityClassName, w.metadata.name).toBeUndefined();
  });
});

describe('startup budgets', () => {
  const budget = (w: K8sObject, c: string) => {
    const probe = container(w, c).startupProbe;
    return probe.periodSeconds * probe.failureThreshold;
  };

  it("follow the values, for Prometheus's WAL replay and Grafana's migrations", () => {
    const r = render({ prometheus: { startupTimeout: '45m' }, grafana: { startupTimeout: '20m' } });
    expect(budget(r.find('StatefulSet', 'prometheus'), 'prometheus')).toBe(45 * 60);
    expect(budget(r.find('Deployment', 'grafana'), 'grafana')).toBe(20 * 60);
  });

  it("hold Grafana's liveness off with a startup probe, not a guessed initial delay", () => {
    const grafana = container(render().find('Deployment', 'grafana'), 'grafana');
    expect(grafana.startupProbe.httpGet.path).toBe(grafana.livenessProbe.httpGet.path);
    expect(grafana.livenessProbe.initialDelaySeconds).toBeUndefined();
  });

  it('round a budget with part of a probe period up to a whole period', () => {
    const r = render({ grafana: { startupTimeout: '1m30s500ms' } });
    expect(budget(r.find('Deployment', 'grafana'), 'grafana')).toBe(100);
  });

  it('fail when shorter than a minute', () => {
    expect(valueProblems({ grafana: { startupTimeout: '30s' } })).toEqual(['grafana.startupTimeout: "30s" is shorter than 1m']);
  });
});

describe('the syslog Service', () => {
  it('takes source ranges and annotations from values', () => {
    const r = render({
      syslog: {
        serviceType: 'LoadBalancer',
        loadBalancerSourceRanges: ['10.20.0.0/16', '2001:db8::/48'],
        serviceAnnotations: { 'networking.gke.io/load-balancer-type': 'Internal' },
      },
    });
    const service = r.find('Service', 'syslog');
    expect(service.spec.loadBalancerSourceRanges).toEqual(['10.20.0.0/16', '2001:db8::/48']);
    expect(service.metadata.annotations?.['networking.gke.io/load-balancer-type']).toBe('Internal');
  });

  it('admits any source when no range is given', () => {
    expect(render({ syslog: { serviceType: 'LoadBalancer' } }).find('Service', 'syslog').spec.loadBalancerSourceRanges).toBeUndefined();
  });

  it('fails on a range that is no network, and on ranges for a Service that is no load balancer', () => {
    expect(valueProblems({ syslog: { serviceType: 'LoadBalancer', loadBalancerSourceRanges: ['10.20.0.0/33'] } })).toEqual([
      'syslog.loadBalancerSourceRanges[0]: "10.20.0.0/33" is not a network in CIDR notation like 10.20.0.0/16',
    ]);
    expect(valueProblems({ syslog: { loadBalancerSourceRanges: ['10.20.0.0/16'] } })).toEqual([
      'syslog.loadBalancerSourceRanges: ["10.20.0.0/16"] is set, but only a LoadBalancer Service applies it (syslog.serviceType is NodePort)',
    ]);
  });
});

describe("Loki's delete API", () => {
  it('is disabled unless the values ask for it', () => {
    expect(render().configFile('loki-config', 'loki.yaml').limits_config.deletion_mode).toBe('disabled');
    expect(render({ loki: { deletionMode: 'filter-and-delete' } }).configFile('loki-config', 'loki.yaml').limits_config.deletion_mode).toBe(
      'filter-and-delete',
    );
  });

  it('fails on a mode Loki does not know', () => {
    expect(valueProblems({ loki: { deletionMode: 'on' } })).toEqual([
      'loki.deletionMode: "on" is not one of "disabled", "filter-only", "filter-and-delete"',
    ]);
  });
});

describe("Grafana's secret key", () => {
  it('comes from the Secret the values name, created out of band', () => {
    const grafana = render({ grafana: { secretKeySecret: { name: 'my-key', key: 'k' } } }).find('Deployment', 'grafana');
    const env = container(grafana, 'grafana').env.find((e: any) => e.name === 'GF_SECURITY_SECRET_KEY');
    expect(env).toEqual({ name: 'GF_SECURITY_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'my-key', key: 'k' } } });
    expect(grafana.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION].split(',')).toContain('my-key');
  });
});

/**
 * Invariants over the whole rendered stack: whatever components exist, these hold for all of them. They are
 * checked on the default stack and on every example environment, since some components (the hardware
 * exporters) render only when the values ask for them.
 */
import { describe, expect, it } from 'vitest';
import type { ValuesInput } from '../charts/values.ts';
import { DEMO_IMAGE, IMAGES } from '../charts/versions.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { environments, EXTERNAL_METRICS_VALUES, podSpec, render, type K8sObject } from './support.ts';

const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'PersistentVolume',
  'StorageClass',
  'CustomResourceDefinition',
]);
/** Volume types Pod Security `restricted` allows. */
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** The default stack, and each environment file as `npm run synth` renders it. */
const STACKS: ReadonlyArray<readonly [string, ValuesInput]> = [
  ['the default stack', {}],
  ...environments(),
  ['a Prometheus pair writing to an external metrics store', EXTERNAL_METRICS_VALUES],
];

describe.each(STACKS)('%s', (_, values) => {
  const rendered = render(values);
  const { objects } = rendered;
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const has = (kind: string, name: string, namespace?: string) =>
    objects.some((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  const allContainers = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];
  const describeWorkload = (w: K8sObject) => `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;

  describe('every rendered object', () => {
    it('lives in a namespace the stack renders, unless it is cluster-scoped', () => {
      const namespaces = new Set(rendered.all('Namespace').map((n) => n.metadata.name));
      for (const o of objects) {
        if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBeUndefined();
        else expect(namespaces, `${o.kind} ${o.metadata.name}`).toContain(o.metadata.namespace);
      }
    });

    it('carries the recommended labels, and is unique by kind, namespace and name', () => {
      const seen = new Set<string>();
      for (const o of objects) {
        const key = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
        expect(o.metadata.labels?.['app.kubernetes.io/part-of'], key).toBe('sightline');
      }
    });
  });

  describe('every Service', () => {
    for (const service of rendered.all('Service')) {
      it(`${service.metadata.name} selects pods of a workload, on ports their containers expose`, () => {
        const selector: Record<string, string> = service.spec.selector;
        expect(Object.keys(selector ?? {}).length).toBeGreaterThan(0);
        expect(Object.keys(selector)).not.toContain('app.kubernetes.io/version');
        const targets = workloads.filter(
          (w) =>
            w.metadata.namespace === service.metadata.namespace &&
            Object.entries(selector).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v),
        );
        expect(targets.map(describeWorkload), 'workloads selected').toHaveLength(1);
        const ports = allContainers(podSpec(targets[0]!)).flatMap((c) => c.ports ?? []);
        for (const p of service.spec.ports) {
          // One number may be exposed for TCP and UDP alike (syslog, DNS): the target must match both.
          const protocol = p.protocol ?? 'TCP';
          const target = ports.find(
            (cp: any) =>
              (typeof p.targetPort === 'string' ? cp.name === p.targetPort : cp.containerPort === p.targetPort) &&
              (cp.protocol ?? 'TCP') === protocol,
          );
          expect(target, `port ${p.name} → ${p.targetPort}/${protocol}`).toBeDefined();
        }
      });
    }
  });

  describe('every workload', () => {
    for (const w of workloads) {
      const spec = podSpec(w);
      const ns = w.metadata.namespace;
      const level = rendered.find('Namespace', ns!).metadata.labels?.['pod-security.kubernetes.io/enforce'];

      it(`${describeWorkload(w)} references only ConfigMaps, Secrets, PVCs and accounts that exist`, () => {
        const external = (w.spec.template.metadata.annotations?.[EXTERNAL_SECRETS_ANNOTATION] ?? '').split(',').filter(Boolean);
        const secretExists = (name: string) => has('Secret', name, ns) || external.includes(name);
        for (const v of spec.volumes ?? []) {
          if (v.configMap) expect(has('ConfigMap', v.configMap.name, ns), `ConfigMap ${v.configMap.name}`).toBe(true);
          if (v.secret) expect(secretExists(v.secret.secretName), `Secret ${v.secret.secretName}`).toBe(true);
          if (v.persistentVolumeClaim)
            expect(has('PersistentVolumeClaim', v.persistentVolumeClaim.claimName, ns), `PVC ${v.persistentVolumeClaim.claimName}`).toBe(true);
        }
        for (const c of allContainers(spec)) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom;
            if (ref?.configMapKeyRef) expect(has('ConfigMap', ref.configMapKeyRef.name, ns), `ConfigMap ${ref.configMapKeyRef.name}`).toBe(true);
            if (ref?.secretKeyRef) expect(secretExists(ref.secretKeyRef.name), `Secret ${ref.secretKeyRef.name}`).toBe(true);
          }
          for (const e of c.envFrom ?? []) {
            if (e.configMapRef) expect(has('ConfigMap', e.configMapRef.name, ns)).toBe(true);
            if (e.secretRef) expect(secretExists(e.secretRef.name)).toBe(true);
          }
        }
        if (spec.serviceAccountName)
          expect(has('ServiceAccount', spec.serviceAccountName, ns), `ServiceAccount ${spec.serviceAccountName}`).toBe(true);
      });

      it(`${describeWorkload(w)} states resources, replicas, token mount and a pinned image`, () => {
        if (w.kind === 'Deployment' || w.kind === 'StatefulSet') expect(typeof w.spec.replicas).toBe('number');
        expect(typeof spec.automountServiceAccountToken).toBe('boolean');
        for (const c of allContainers(spec)) {
          for (const kind of ['requests', 'limits']) {
            expect(c.resources?.[kind]?.cpu, `${c.name} ${kind}.cpu`).toBeDefined();
            expect(c.resources?.[kind]?.memory, `${c.name} ${kind}.memory`).toBeDefined();
          }
          expect(c.image, c.name).toMatch(/^[\w.-]+(\/[\w.-]+)+(:[\w.-]+|@sha256:[a-f0-9]{64})$/);
          expect(c.image).not.toMatch(/:latest$/);
          expect(c.imagePullPolicy, c.name).toBe('IfNotPresent');
        }
      });

      it(`${describeWorkload(w)} keeps every container unprivileged, without escalation or capabilities, on a read-only root`, () => {
        for (const c of allContainers(spec)) {
          const sc = c.securityContext ?? {};
          expect(sc.privileged ?? false, c.name).toBe(false);
          expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
          expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
          expect(sc.capabilities?.drop, c.name).toEqual(['ALL']);
          expect(
            (sc.capabilities?.add ?? []).filter((cap: string) => cap !== 'NET_BIND_SERVICE'),
            c.name,
          ).toEqual([]);
        }
      });

      if (level === 'restricted') {
        it(`${describeWorkload(w)} passes Pod Security "restricted", which its namespace enforces`, () => {
          expect(spec.hostNetwork ?? false).toBe(false);
          expect(spec.hostPID ?? false).toBe(false);
          expect(spec.hostIPC ?? false).toBe(false);
          for (const v of spec.volumes ?? []) {
            expect(
              Object.keys(v)
                .filter((k) => k !== 'name')
                .every((k) => RESTRICTED_VOLUMES.includes(k)),
              v.name,
            ).toBe(true);
          }
          for (const c of allContainers(spec)) {
            const sc = c.securityContext ?? {};
            expect(sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, c.name).toBe(true);
            expect(sc.runAsUser ?? spec.securityContext?.runAsUser, c.name).not.toBe(0);
            expect((sc.seccompProfile ?? spec.securityContext?.seccompProfile)?.type, c.name).toMatch(/^(RuntimeDefault|Localhost)$/);
            expect(
              (c.ports ?? []).every((p: any) => p.hostPort === undefined),
              c.name,
            ).toBe(true);
          }
        });
      }

      const claims = (spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim);
      if (claims.length > 0 && w.kind === 'Deployment') {
        it(`${describeWorkload(w)} recreates its pod and owns its volume, since the volume is ReadWriteOnce`, () => {
          expect(w.spec.strategy.type).toBe('Recreate');
          expect(w.spec.replicas).toBeLessThanOrEqual(1);
          expect(spec.securityContext.fsGroup).toBeTypeOf('number');
          expect(spec.securityContext.fsGroupChangePolicy).toBe('OnRootMismatch');
        });
      }
      if (claims.length > 0 && w.kind === 'StatefulSet') {
        it(`${describeWorkload(w)} runs at most one pod on its ReadWriteOnce claim, and owns the volume`, () => {
          // A claim mounted by name (not a volumeClaimTemplate) is shared by every replica: one pod at most.
          expect(w.spec.replicas).toBeLessThanOrEqual(1);
          expect(w.spec.volumeClaimTemplates).toBeUndefined();
          expect(spec.securityContext.fsGroup).toBeTypeOf('number');
          expect(spec.securityContext.fsGroupChangePolicy).toBe('OnRootMismatch');
        });
      }
    }
  });

  describe('cross-component wiring', () => {
    /** Every string in every ConfigMap file and container env/args of the stack. */
    const texts = [
      ...rendered.all('ConfigMap').flatMap((cm) => Object.values<string>(cm.data ?? {})),
      ...workloads.flatMap((w) =>
        allContainers(podSpec(w)).flatMap((c) => [...(c.args ?? []), ...(c.command ?? []), ...(c.env ?? []).map((e: any) => e.value ?? '')]),
      ),
    ];

    it('every in-cluster address names a rendered Service and a port it exposes', () => {
      const addresses = texts.flatMap((t) => [...t.matchAll(/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local(?::(\d+))?/g)]);
      expect(addresses.length).toBeGreaterThan(0);
      for (const [address, name, namespace, port] of addresses) {
        const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === name && o.metadata.namespace === namespace);
        expect(service, address).toBeDefined();
        expect(port, `${address} names its port`).toBeDefined();
        expect(
          service!.spec.ports.map((p: any) => String(p.port)),
          address,
        ).toContain(port);
      }
    });

    it('every datasourceUid in Grafana provisioning resolves to a provisioned datasource', () => {
      const { datasources } = rendered.configFile('grafana-datasources', 'datasources.yaml');
      const uids = new Set(datasources.map((d: { uid: string }) => d.uid));
      const referenced = [...JSON.stringify(datasources).matchAll(/"datasourceUid":"([^"]+)"/g)].map((m) => m[1]);
      for (const uid of referenced) expect(uids, `datasourceUid ${uid}`).toContain(uid);
    });

    it('every image comes from the pinned list (or is the demo image, which values choose)', () => {
      const pinned = new Set<string>([...Object.values(IMAGES), `${DEMO_IMAGE.repository}:${DEMO_IMAGE.tag}`]);
      for (const w of workloads) for (const c of allContainers(podSpec(w))) expect(pinned, `${describeWorkload(w)} ${c.name}`).toContain(c.image);
    });
  });
});

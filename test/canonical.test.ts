/**
 * The committed outputs are written as the API server stores them, so that a second `kubectl apply` reports
 * every object `unchanged` (the component tier proves that against a real kube-apiserver; this catches the
 * regression without it): no empty list, none of the zero values the server drops, every quantity canonical.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalQuantity } from '../charts/shared/canonical.ts';
import { RENDERED_DIR } from '../cli/targets.ts';
import { readInKubectlOrder, ROOT, type AppliedObject } from './delivery.ts';
import { render, type K8sObject } from './support.ts';

/** Every committed output folder, the Argo CD ones included. */
const FOLDERS = ['dist', ...readdirSync(join(ROOT, RENDERED_DIR)).map((f) => `${RENDERED_DIR}/${f}`)];

/** Zero values that kplus writes by default and the API server drops (plain `omitempty` fields of the built-in kinds). */
const DROPPED: Readonly<Record<string, unknown>> = { minReadySeconds: 0, hostNetwork: false, readOnly: false, globalDefault: false };

/**
 * Whether a quantity is not in the form the server writes back: a whole number of a unit that a larger unit of
 * the same kind also holds whole (`2048Mi` is `2Gi`, `2000m` is `2`, `10000` is `10k`). Stated here on its own,
 * not through the renderer's canonicalQuantity, so that a fault in that function is caught too.
 */
function nonCanonicalQuantity(quantity: string): boolean {
  const [, digits, unit] = /^(\d+)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/.exec(quantity) ?? [];
  if (digits === undefined) return false;
  const amount = Number(digits);
  if (amount === 0) return quantity !== '0';
  return amount % (unit?.endsWith('i') ? 1024 : 1000) === 0;
}

/** What in `object` the API server would drop or rewrite, as `<path>: <value>`. */
function canonicalProblems(object: K8sObject): string[] {
  const problems: string[] = [];
  const walk = (value: unknown, path: string, key: string, parent: string) => {
    if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${path}: [] is dropped by the API server`);
      for (const [i, item] of value.entries()) walk(item, `${path}[${i}]`, key, parent);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, k, key);
    } else if (key in DROPPED && DROPPED[key] === value) {
      problems.push(`${path}: ${JSON.stringify(value)} is the default, which the API server drops`);
    } else if (key === 'apiGroup' && parent === 'subjects' && value === '') {
      problems.push(`${path}: "" is the core group, which the API server drops`);
    } else if (['requests', 'limits', 'hard'].includes(parent) && typeof value === 'string' && nonCanonicalQuantity(value)) {
      problems.push(`${path}: ${value} is written back by the API server in another form`);
    }
  };
  // ConfigMap and Secret data are file contents, not fields.
  const { data: _data, stringData: _stringData, ...fields } = object;
  walk(fields, `${object.kind} ${object.metadata.name}`, '', '');
  return problems;
}

describe('the committed outputs', () => {
  it.each(FOLDERS)('%s holds no empty list, dropped default or non-canonical quantity', (folder) => {
    const objects = readInKubectlOrder(join(ROOT, folder)).map((a: AppliedObject) => a.object);

    expect(objects.length).toBeGreaterThan(0);
    expect(objects.flatMap(canonicalProblems)).toEqual([]);
  });

  it('fails when an object holds what kplus writes by default', () => {
    const broken: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        minReadySeconds: 0,
        template: {
          spec: {
            hostNetwork: false,
            containers: [{ name: 'c', resources: { limits: { cpu: '2000m', memory: '2048Mi' }, requests: { cpu: '1500m', memory: '1536Mi' } } }],
            volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c', readOnly: false } }],
          },
        },
      },
    };
    const binding: K8sObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'x' },
      subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'y', apiGroup: '' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'x' },
    };
    const quota: K8sObject = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'x' }, spec: { hard: { pods: '10000' } } };
    const role: K8sObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'x' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: [] }],
    };

    expect([broken, binding, quota, role].flatMap(canonicalProblems)).toEqual([
      'Deployment x.spec.minReadySeconds: 0 is the default, which the API server drops',
      'Deployment x.spec.template.spec.hostNetwork: false is the default, which the API server drops',
      'Deployment x.spec.template.spec.containers[0].resources.limits.cpu: 2000m is written back by the API server in another form',
      'Deployment x.spec.template.spec.containers[0].resources.limits.memory: 2048Mi is written back by the API server in another form',
      'Deployment x.spec.template.spec.volumes[0].persistentVolumeClaim.readOnly: false is the default, which the API server drops',
      'ClusterRoleBinding x.subjects[0].apiGroup: "" is the core group, which the API server drops',
      'ResourceQuota x.spec.hard.pods: 10000 is written back by the API server in another form',
      'ClusterRole x.rules[0].resourceNames: [] is dropped by the API server',
    ]);
  });
});

describe('canonicalQuantity', () => {
  it.each([
    ['2048Mi', '2Gi'],
    ['1048576Ki', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['2000m', '2'],
    ['1500m', '1500m'],
    ['10000', '10k'],
    ['1000000m', '1k'],
    ['0m', '0'],
    ['10Gi', '10Gi'],
  ])('writes %s as %s, as the API server does', (quantity, canonical) => {
    expect(canonicalQuantity(quantity)).toBe(canonical);
  });
});

describe('a stack rendered from values in other units', () => {
  it('writes the values’ quantities in canonical form', () => {
    const rendered = render({
      grafana: { storage: '10240Mi', resources: { requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: '2', memory: '4096Mi' } } },
    });

    expect(rendered.find('Deployment', 'grafana')['spec'].template.spec.containers[0].resources).toEqual({
      requests: { cpu: '1', memory: '1Gi' },
      limits: { cpu: '2', memory: '4Gi' },
    });
    expect(rendered.find('PersistentVolumeClaim', 'grafana-data')['spec'].resources.requests.storage).toBe('10Gi');
    expect(rendered.objects.flatMap(canonicalProblems)).toEqual([]);
  });
});

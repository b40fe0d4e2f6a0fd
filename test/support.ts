/**
 * Test helpers: render the stack in memory from values and look objects up in the result.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as YAML from 'yaml';
import { buildStack, type Stack } from '../main.ts';
import { parseValues, ValuesError, type ValuesInput } from '../charts/values.ts';

/** A rendered Kubernetes object, as plain data. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Rendered objects are checked field by field; their shape differs per kind.
  [key: string]: any;
}

/** A rendered stack: the charts (for wiring assertions) and every object they render, in file order. */
export interface Rendered {
  readonly stack: Stack;
  readonly objects: readonly K8sObject[];
  /** The one object of `kind` named `name`; throws if absent or ambiguous. */
  find(kind: string, name: string, namespace?: string): K8sObject;
  /** Every object of `kind`. */
  all(kind: string): K8sObject[];
  /** A file of a ConfigMap, parsed as YAML. */
  configFile(configMapName: string, file: string): any;
}

/**
 * Stacks rendered so far, by their values. A render is deterministic, so tests that render the same values
 * (about forty render the defaults) share one: rendering was most of the CPU time of a test run.
 */
const renders = new Map<string, Rendered>();
const RENDERS_KEPT = 16;

/**
 * Renders the stack from values (defaults applied, validated as `npm run synth` would). The rendered objects
 * are frozen, as they are shared by every test rendering the same values: a test that changed one would throw.
 */
export function render(values: ValuesInput = {}): Rendered {
  // undefined is kept apart from an absent key: strict sections may treat them differently.
  const key = JSON.stringify(values, (_, v) => (v === undefined ? '\0undefined' : v));
  let rendered = renders.get(key);
  renders.delete(key);
  if (rendered === undefined) {
    const stack = buildStack(parseValues(values, 'test values'), '/nonexistent');
    // synthYaml resolves the dependencies between charts and objects (their order) and runs the validations, as
    // a synth does; the objects are then taken as the data the YAML holds, which parsing it back gave too, at
    // three times the cost.
    stack.app.synthYaml();
    const objects = stack.app.charts.flatMap((chart) => chart.toJson() as K8sObject[]).map(deepFreeze);
    rendered = { stack, ...lookups(Object.freeze(objects)) };
  }
  // The most recently used last; the least recently used goes when more are kept than a run reuses.
  renders.set(key, rendered);
  if (renders.size > RENDERS_KEPT) renders.delete(renders.keys().next().value!);
  return rendered;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Rendered objects with the lookups of {@link Rendered}. */
export function lookups(objects: readonly K8sObject[]): Omit<Rendered, 'stack'> {
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  const find = (kind: string, name: string, namespace?: string) => {
    const found = all(kind).filter((o) => o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
    return found[0]!;
  };
  return {
    objects,
    find,
    all,
    configFile: (configMapName, file) => {
      const text = find('ConfigMap', configMapName).data?.[file];
      if (typeof text !== 'string') throw new Error(`ConfigMap ${configMapName} has no file ${file}`);
      return YAML.parse(text);
    },
  };
}

/** The pod spec of a workload (Deployment, DaemonSet, StatefulSet). */
export function podSpec(workload: K8sObject): any {
  return workload.spec.template.spec;
}

/** One container of a workload by name. */
export function container(workload: K8sObject, name: string): any {
  const found = podSpec(workload).containers.find((c: { name: string }) => c.name === name);
  if (!found) throw new Error(`${workload.kind} ${workload.metadata.name} has no container ${name}`);
  return found;
}

/** The problems validation reports for raw `values` (one message per problem); throws if they are valid. */
export function valueProblems(values: unknown): readonly string[] {
  try {
    parseValues(values, 'test values');
  } catch (error) {
    if (error instanceof ValuesError) return error.problems;
    throw error;
  }
  throw new Error(`values were accepted: ${JSON.stringify(values)}`);
}

/** Every example environment (`environments/*.yaml`), parsed as `npm run synth` reads it. */
export function environments(): ReadonlyArray<readonly [file: string, values: ValuesInput]> {
  return readdirSync('environments')
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [`environments/${f}`, YAML.parse(readFileSync(`environments/${f}`, 'utf8')) as ValuesInput] as const);
}

/** The smallest values with hardware monitoring: one exporter group of one server. */
export const HARDWARE_VALUES: ValuesInput = {
  redfish: {
    groups: [
      {
        name: 'fra1',
        nodeSelector: { 'sightline.io/bmc-network': 'fra1' },
        configSecret: { name: 'redfish-fra1' },
        servers: [{ name: 'fra1-s01', bmc: '10.0.0.1' }],
      },
    ],
  },
};

/**
 * An HA pair of Prometheus writing to an external metrics store (Mimir's example URLs, a tenant, basic auth
 * from a Secret created out of band), which Grafana then queries.
 */
export const EXTERNAL_METRICS_VALUES = {
  prometheus: {
    replicas: 2,
    external: {
      writeUrl: 'https://mimir.example.com/api/v1/push',
      queryUrl: 'https://mimir.example.com/prometheus',
      tenant: 'team-a',
      auth: { type: 'basic', username: 'team-a', secretName: 'mimir-credentials' },
    },
  },
} as const satisfies ValuesInput;

/**
 * The delivery guarantees as checks over rendered objects, each returning the problems it finds (empty when
 * the guarantee holds), so that a test can run them on the real outputs and on broken examples alike.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import * as YAML from 'yaml';
import { groupOf } from '../charts/argocd.ts';
import { argoCdFolder, RENDERED_DIR } from '../cli/targets.ts';
import { ANNOTATIONS_BYTES_LIMIT, clientSideApplyBytes } from '../charts/shared/delivery.ts';
import { schemaValidator, strict } from './schema.ts';
import type { K8sObject } from './support.ts';

export const ROOT = resolve(import.meta.dirname, '..');

/** The committed stack folders, relative to ROOT: dist/ and every rendered/<env>/ (not the Argo CD ones). */
export function stackFolders(): string[] {
  const environments = existsSync(join(ROOT, RENDERED_DIR)) ? readdirSync(join(ROOT, RENDERED_DIR)).filter((f) => !f.endsWith(argoCdFolder(''))) : [];
  return ['dist', ...environments.map((f) => `${RENDERED_DIR}/${f}`)];
}

/** An object of an output folder, and the file kubectl reads it from. */
export interface AppliedObject {
  readonly file: string;
  readonly object: K8sObject;
}

/**
 * Every object in `dir`, in the order `kubectl apply -f dir` applies them: the files by name (byte order,
 * as Go's directory walk gives them), the documents of a file in order.
 */
export function readInKubectlOrder(dir: string): AppliedObject[] {
  return readdirSync(dir)
    .sort()
    .flatMap((file) => documents(join(dir, file)).map((object) => ({ file, object })));
}

function documents(file: string): K8sObject[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as K8sObject);
}

const describe = ({ object: o }: AppliedObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Every namespaced object comes after its Namespace, or lives in one the cluster already has (`existing`). */
export function namespaceOrderProblems(applied: readonly AppliedObject[], existing: ReadonlySet<string> = new Set()): string[] {
  const created = new Set(existing);
  const problems: string[] = [];
  for (const a of applied) {
    const namespace = a.object.metadata.namespace;
    if (namespace !== undefined && !created.has(namespace))
      problems.push(`${a.file}: ${describe(a)} is applied before its Namespace ${namespace} exists`);
    if (a.object.kind === 'Namespace') created.add(a.object.metadata.name);
  }
  return problems;
}

/**
 * No object is of a kind that a CRD in the same apply defines: kubectl maps every kind when it starts, before
 * the CRD exists, and fails with "no matches for kind".
 */
export function crdProblems(applied: readonly AppliedObject[]): string[] {
  const defined = new Set(
    applied.filter((a) => a.object.kind === 'CustomResourceDefinition').map((a) => `${a.object.spec.group}/${a.object.spec.names.kind}`),
  );
  return applied
    .filter((a) => defined.has(`${groupOf(a.object.apiVersion)}/${a.object.kind}`))
    .map((a) => `${a.file}: ${describe(a)} needs a CRD that the same apply installs`);
}

/** Every object's annotations fit the limit after a client-side apply adds the last-applied copy. */
export function sizeProblems(applied: readonly AppliedObject[]): string[] {
  return applied.flatMap((a) => {
    const bytes = clientSideApplyBytes(a.object);
    return bytes > ANNOTATIONS_BYTES_LIMIT
      ? [`${a.file}: ${describe(a)} needs ${bytes} annotation bytes under client-side apply (limit ${ANNOTATIONS_BYTES_LIMIT}): split it`]
      : [];
  });
}

/** Only Kubernetes objects: kubectl would try to apply any other YAML in the folder, and fail on it. */
export function nonObjectProblems(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (!entry.isFile() || !entry.name.endsWith('.k8s.yaml')) return [`${entry.name} is not a rendered manifest file`];
    return documents(join(dir, entry.name))
      .filter((o) => !(o?.apiVersion && o.kind && o.metadata?.name))
      .map(() => `${entry.name} holds a document that is not a Kubernetes object`);
  });
}

/**
 * The AppProject allows exactly what `applied` holds: each object's kind in the whitelist of its scope (an
 * object without a namespace is cluster-scoped), its namespace among the destinations, and no kind or
 * namespace beyond those.
 */
export function projectProblems(applied: readonly AppliedObject[], project: K8sObject): string[] {
  const key = (g: { group: string; kind: string }) => `${g.group}/${g.kind}`;
  const cluster = new Set<string>((project.spec.clusterResourceWhitelist ?? []).map(key));
  const namespaced = new Set<string>((project.spec.namespaceResourceWhitelist ?? []).map(key));
  const destinations = new Set<string>((project.spec.destinations ?? []).map((d: { namespace: string }) => d.namespace));
  const problems: string[] = [];
  const used = { cluster: new Set<string>(), namespaced: new Set<string>(), namespaces: new Set<string>() };
  for (const a of applied) {
    const kind = key({ group: groupOf(a.object.apiVersion), kind: a.object.kind });
    const namespace = a.object.metadata.namespace;
    if (namespace === undefined) {
      used.cluster.add(kind);
      if (!cluster.has(kind)) problems.push(`${describe(a)}: cluster-scoped ${kind} is not in clusterResourceWhitelist`);
    } else {
      used.namespaced.add(kind);
      used.namespaces.add(namespace);
      if (!namespaced.has(kind)) problems.push(`${describe(a)}: namespaced ${kind} is not in namespaceResourceWhitelist`);
      if (!destinations.has(namespace)) problems.push(`${describe(a)}: namespace ${namespace} is not a destination`);
    }
    if (a.object.kind === 'Namespace') used.namespaces.add(a.object.metadata.name);
  }
  for (const k of cluster) if (!used.cluster.has(k)) problems.push(`clusterResourceWhitelist allows ${k}, which the stack does not render`);
  for (const k of namespaced) if (!used.namespaced.has(k)) problems.push(`namespaceResourceWhitelist allows ${k}, which the stack does not render`);
  for (const n of destinations) if (!used.namespaces.has(n)) problems.push(`destinations allow namespace ${n}, which the stack does not use`);
  return problems;
}

/** A CRD's schema for one kind, compiled. */
interface CrdSchema {
  readonly apiVersions: ReadonlySet<string>;
  readonly namespaced: boolean;
  readonly validate: ValidateFunction;
}

let crdSchemas: Map<string, CrdSchema> | undefined;

/**
 * The CRDs cdk8s.yaml imports (`imports:`, the files `npm run import` generates imports/ from), by kind.
 *
 * The schemas are made {@link strict}: the API server prunes fields a structural schema does not declare,
 * silently, so a misspelt field would vanish on apply; here it fails the test instead.
 */
export function importedCrds(): Map<string, CrdSchema> {
  if (crdSchemas) return crdSchemas;
  const config = YAML.parse(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')) as { imports: string[] };
  const ajv = schemaValidator();
  crdSchemas = new Map();
  for (const spec of config.imports) {
    const crd = YAML.parse(readFileSync(join(ROOT, spec.slice(spec.indexOf(':=') + 2)), 'utf8'));
    const version = crd.spec.versions.find((v: { storage: boolean }) => v.storage);
    crdSchemas.set(crd.spec.names.kind, {
      apiVersions: new Set(
        crd.spec.versions.filter((v: { served: boolean }) => v.served).map((v: { name: string }) => `${crd.spec.group}/${v.name}`),
      ),
      namespaced: crd.spec.scope === 'Namespaced',
      validate: ajv.compile(strict(version.schema.openAPIV3Schema)),
    });
  }
  return crdSchemas;
}

/** The object is valid against its imported CRD: a served apiVersion, the CRD's scope, and its schema. */
export function crdSchemaProblems(object: K8sObject): string[] {
  const crd = importedCrds().get(object.kind);
  const name = `${object.kind} ${object.metadata.name}`;
  if (!crd) return [`${name}: no imported CRD defines kind ${object.kind}`];
  const problems: string[] = [];
  if (!crd.apiVersions.has(object.apiVersion))
    problems.push(`${name}: apiVersion ${object.apiVersion} is not served (${[...crd.apiVersions].join(', ')})`);
  if (crd.namespaced !== (object.metadata.namespace !== undefined))
    problems.push(`${name}: ${crd.namespaced ? 'needs' : 'must not have'} a namespace`);
  if (!crd.validate(object)) {
    for (const e of crd.validate.errors ?? [])
      problems.push(
        `${name}: ${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`,
      );
  }
  return problems;
}

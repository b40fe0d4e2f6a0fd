/**
 * Every rendered object validates against the Kubernetes OpenAPI definitions of both ends of the supported
 * range (v1.28 and v1.36, vendored in test/reference/k8s), strictly: an unknown field is an error, as
 * with `kubectl apply --validate=strict`, so a misspelt field in an L1 object cannot reach a cluster.
 */
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { schemaValidator, strict } from './schema.ts';
import { environments, EXTERNAL_METRICS_VALUES, render } from './support.ts';

const SCHEMAS = new URL('reference/k8s/', import.meta.url);

function validatorsFor(version: string): (apiVersion: string, kind: string) => ValidateFunction {
  const { definitions } = JSON.parse(readFileSync(new URL(`k8s-v${version}-definitions.json`, SCHEMAS), 'utf8'));
  const ajv = schemaValidator();
  ajv.addSchema({ $id: 'k8s', definitions: strict(definitions) });
  const byGvk = new Map<string, string>();
  for (const [name, def] of Object.entries<any>(definitions)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      byGvk.set(`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, name);
    }
  }
  return (apiVersion, kind) => {
    const name = byGvk.get(`${apiVersion}/${kind}`);
    if (!name) throw new Error(`Kubernetes v${version} has no ${apiVersion} ${kind}`);
    return ajv.getSchema(`k8s#/definitions/${name}`)!;
  };
}

/**
 * The default stack, what the example environments add or change (the hardware exporters render only when
 * values list them) and what an external metrics store changes: each distinct object once.
 */
const objects = [render(), ...[...environments().map(([, values]) => values), EXTERNAL_METRICS_VALUES].map((values) => render(values))]
  .flatMap((r) => r.objects)
  .filter((o, i, all) => all.findIndex((other) => JSON.stringify(other) === JSON.stringify(o)) === i);

for (const version of ['1.28.0', '1.36.0']) {
  describe(`against Kubernetes v${version}`, () => {
    const validator = validatorsFor(version);
    for (const o of objects) {
      it(`${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name} is a valid object with no unknown field`, () => {
        const validate = validator(o.apiVersion, o.kind);
        validate(o);
        expect(validate.errors ?? []).toEqual([]);
      });
    }
  });
}

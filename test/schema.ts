/**
 * Validation of rendered objects against upstream schemas (the Kubernetes OpenAPI definitions, the CRDs).
 */
import { Ajv } from 'ajv';

/**
 * Marks every object schema closed (no additional properties) unless it preserves unknown fields, as strict
 * server-side validation does: the API server would otherwise drop a misspelt field without a word.
 */
export function strict(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: any = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strict(s)])) : strict(v),
    ]),
  );
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

/** A validator for Kubernetes-flavoured OpenAPI schemas: `x-kubernetes-*` keywords and formats are not checked. */
export function schemaValidator(): Ajv {
  return new Ajv({ strict: false, allErrors: true, validateFormats: false });
}

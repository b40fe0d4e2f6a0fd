/**
 * The rendered objects in the form the API server stores them, so that a second `kubectl apply` of the same
 * folder reports every object `unchanged` (and Argo CD shows no drift). kubectl compares what a file says with
 * what the server keeps: a value the server drops (a zero value of an `omitempty` field) or rewrites (a
 * quantity) looks like a change on every apply.
 */
import type { IResolver, ResolutionContext } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/** Kinds whose pod template kplus writes `hostNetwork: false` and `minReadySeconds: 0` into. */
const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * Fields that kplus always writes with their zero value, and that the API server drops because the Go field is
 * a plain (non-pointer) `omitempty` one: the stored object has no such key. Paths are the keys below the object,
 * `/`-separated, with `*` for every item of a list.
 */
const DROPPED_ZERO_VALUES: readonly { readonly kinds: ReadonlySet<string>; readonly path: string; readonly zero: unknown }[] = [
  { kinds: WORKLOAD_KINDS, path: '/spec/minReadySeconds', zero: 0 },
  { kinds: WORKLOAD_KINDS, path: '/spec/template/spec/hostNetwork', zero: false },
  { kinds: WORKLOAD_KINDS, path: '/spec/template/spec/volumes/*/persistentVolumeClaim/readOnly', zero: false },
  { kinds: WORKLOAD_KINDS, path: '/spec/template/spec/containers/*/volumeMounts/*/readOnly', zero: false },
  { kinds: WORKLOAD_KINDS, path: '/spec/template/spec/initContainers/*/volumeMounts/*/readOnly', zero: false },
  // kplus gives a ServiceAccount subject the core group as an empty string; the server drops it.
  { kinds: new Set(['RoleBinding', 'ClusterRoleBinding']), path: '/subjects/*/apiGroup', zero: '' },
];

/** The exponent steps of Kubernetes quantity suffixes: binary (1024) and decimal (1000, from milli up). */
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const DECIMAL_SUFFIXES = ['m', '', 'k', 'M', 'G', 'T', 'P', 'E'] as const;

/**
 * A whole-number quantity (`2048Mi`, `2000m`, `10000`) as the API server writes it back: the largest suffix of
 * its kind that keeps the number whole (`2Gi`, `2`, `10k`). Anything else (a fraction, an exponent) is
 * returned as it is: the stack renders none.
 *
 * @see https://github.com/kubernetes/apimachinery/blob/v0.36.3/pkg/api/resource/quantity.go (CanonicalizeBytes)
 */
export function canonicalQuantity(quantity: string): string {
  const match = /^(\d+)([A-Za-z]*)$/.exec(quantity);
  if (match === null) return quantity;
  const [, digits, suffix] = match as unknown as [string, string, string];
  const binary = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
  const decimal = DECIMAL_SUFFIXES.indexOf(suffix as (typeof DECIMAL_SUFFIXES)[number]);
  // A bare number is decimal (`1000` → `1k`); `Ki`...`Ei` are binary.
  const [suffixes, base, step] = suffix !== '' && binary > 0 ? [BINARY_SUFFIXES, 1024n, binary] : [DECIMAL_SUFFIXES, 1000n, decimal];
  if (step < 0) return quantity;
  let amount = BigInt(digits);
  if (amount === 0n) return '0';
  let at = step;
  while (at < suffixes.length - 1 && amount % base === 0n) {
    amount /= base;
    at++;
  }
  return `${amount}${suffixes[at]}`;
}

/** Whether a key path (list items as their index) matches a pattern of `/`-separated keys, `*` for any index. */
function matches(key: readonly string[], pattern: string): boolean {
  const parts = pattern.split('/').slice(1);
  return parts.length === key.length && parts.every((part, i) => part === key[i] || (part === '*' && /^\d+$/.test(key[i]!)));
}

/**
 * A cdk8s resolver that renders every object canonical as it is written: no empty list (every list field of
 * the built-in kinds is `omitempty`, so the server keeps none; kplus writes `externalIPs: []` and
 * `resourceNames: []`), none of the zero values of {@link DROPPED_ZERO_VALUES}, and quantities in canonical
 * form (kplus writes memory in `Mi` only: `2048Mi` for `2Gi`; values may say `1000m`). kplus offers no way to
 * leave those defaults out or to choose the unit, so this runs where cdk8s resolves each value of each object;
 * a ConfigMap's or Secret's data (file contents) holds no list and no quantity, and stays as it is.
 *
 * @see https://cdk8s.io/docs/latest/basics/app/#resolvers
 */
export class CanonicalResolver implements IResolver {
  public resolve(context: ResolutionContext): void {
    const { value, key } = context;
    if (value instanceof kplus.k8s.Quantity && typeof value.value === 'string') {
      const canonical = canonicalQuantity(value.value);
      if (canonical !== value.value) context.replaceValue(kplus.k8s.Quantity.fromString(canonical));
    } else if (Array.isArray(value) && value.length === 0) {
      context.replaceValue(undefined);
    } else if (DROPPED_ZERO_VALUES.some((field) => value === field.zero && field.kinds.has(context.obj.kind) && matches(key, field.path))) {
      context.replaceValue(undefined);
    }
  }
}

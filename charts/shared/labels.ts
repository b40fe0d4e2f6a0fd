/** The product every rendered object belongs to (`app.kubernetes.io/part-of`). */
export const PART_OF = 'sightline';

/**
 * Who a workload is, in the vocabulary of the Kubernetes recommended labels.
 *
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
 */
export interface ComponentIdentity {
  /** `app.kubernetes.io/name`: the application, e.g. `prometheus`. */
  readonly name: string;
  /** `app.kubernetes.io/instance`: distinguishes two deployments of the same application. @default - the name */
  readonly instance?: string;
  /** `app.kubernetes.io/component`: its role in the stack, e.g. `metrics`, `logs`. */
  readonly component: string;
  /** `app.kubernetes.io/version`: the version the image runs, e.g. `3.14.0`. */
  readonly version: string;
}

/** The full set of recommended labels, for metadata of every object a component renders. */
export function recommendedLabels(id: ComponentIdentity): Record<string, string> {
  return {
    ...selectorLabels(id),
    'app.kubernetes.io/component': id.component,
    'app.kubernetes.io/version': id.version,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/**
 * The stable subset used in selectors. Never the version: a Deployment's selector is immutable, so a
 * version in it would make every upgrade fail.
 */
export function selectorLabels(id: ComponentIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/name': id.name,
    'app.kubernetes.io/instance': id.instance ?? id.name,
  };
}

/** The version part of an image reference (`repo:1.2.3` → `1.2.3`, a leading `v` dropped). */
export function imageVersion(image: string): string {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  return tag.replace(/^v(?=\d)/, '');
}

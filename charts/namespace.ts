import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { PART_OF } from './shared/labels.ts';

/** A Pod Security Standards level. @see https://kubernetes.io/docs/concepts/security/pod-security-standards/ */
export type PodSecurityLevel = 'restricted' | 'baseline' | 'privileged';

/** Properties of {@link StackNamespace}. */
export interface StackNamespaceProps {
  /** Name of the namespace. */
  readonly name: string;
  /** Pod Security admission level enforced (and audited and warned) in the namespace. */
  readonly podSecurity: PodSecurityLevel;
}

/**
 * A namespace of the stack with its Pod Security admission labels.
 *
 * Every other chart depends on the namespace chart it deploys into, so the namespace file sorts first in
 * `dist/` and `kubectl apply -f dist` creates it before anything in it.
 */
export class StackNamespace extends Chart {
  /** Name of the namespace. */
  public readonly name: string;

  public constructor(scope: Construct, id: string, props: StackNamespaceProps) {
    super(scope, id, { disableResourceNameHashes: true });
    this.name = props.name;
    new kplus.Namespace(this, 'Namespace', {
      metadata: {
        name: props.name,
        labels: {
          'app.kubernetes.io/part-of': PART_OF,
          'app.kubernetes.io/managed-by': 'cdk8s',
          'pod-security.kubernetes.io/enforce': props.podSecurity,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': props.podSecurity,
          'pod-security.kubernetes.io/warn': props.podSecurity,
        },
      },
    });
  }
}

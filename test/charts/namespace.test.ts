import { describe, expect, it } from 'vitest';
import { StackNamespace } from '../../charts/namespace.ts';
import { freshApp, synthChart } from './alone.ts';

describe('the stack namespace, built alone', () => {
  it('enforces, audits and warns at the Pod Security level its props name', () => {
    const c = synthChart(new StackNamespace(freshApp(), 'namespace', { name: 'obs-agents', podSecurity: 'privileged' }));
    expect(c.objects).toHaveLength(1);
    expect(c.find('Namespace', 'obs-agents').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/audit': 'privileged',
      'pod-security.kubernetes.io/warn': 'privileged',
    });
  });
});

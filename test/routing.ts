/**
 * Alertmanager's routing and inhibition, evaluated in TypeScript over the rendered config, for tests that do
 * not need the amtool binary. Only what Sightline renders is modelled: `label="value"` matchers, `continue`,
 * and inhibit rules with `equal`.
 *
 * @see https://github.com/prometheus/alertmanager/blob/v0.35.0/dispatch/route.go (Route.Match)
 */
import type { AlertmanagerInhibitRule, AlertmanagerRoute } from '../charts/alertmanager.ts';
import type { ValuesInput } from '../charts/values.ts';

type Labels = Readonly<Record<string, string>>;

function matches(matchers: readonly string[] | undefined, labels: Labels): boolean {
  return (matchers ?? []).every((m) => {
    const parsed = /^(\w+)="(.*)"$/.exec(m);
    if (!parsed) throw new Error(`matcher ${m} is not of the form label="value"`);
    return (labels[parsed[1]!] ?? '') === parsed[2];
  });
}

/** The receivers an alert with `labels` is sent to, in order (Alertmanager's depth-first route walk). */
export function receiversOf(route: AlertmanagerRoute, labels: Labels, inherited?: string): string[] {
  if (!matches(route.matchers, labels)) return [];
  const receiver = route.receiver ?? inherited;
  const found: string[] = [];
  for (const child of route.routes ?? []) {
    const below = receiversOf(child, labels, receiver);
    found.push(...below);
    if (below.length > 0 && !child.continue) break;
  }
  if (found.length > 0) return found;
  if (receiver === undefined) throw new Error('a route without a receiver matched');
  return [receiver];
}

/** Whether an alert with `target` labels is muted by a firing alert with `source` labels. */
export function inhibits(rules: readonly AlertmanagerInhibitRule[], source: Labels, target: Labels): boolean {
  return rules.some(
    (rule) =>
      matches(rule.source_matchers, source) &&
      matches(rule.target_matchers, target) &&
      rule.equal.every((l) => (source[l] ?? '') === (target[l] ?? '')),
  );
}

/** Receivers of every kind, routed by severity: what a production profile looks like. */
export const ROUTED_VALUES: ValuesInput = {
  alertmanager: {
    replicas: 3,
    route: { receiver: 'team-mail', severities: { critical: ['pager', 'team-chat'], warning: ['team-chat'], info: ['tickets'] } },
    receivers: [
      { name: 'pager', pagerduty: { routingKeySecret: { name: 'am-pagerduty', key: 'routing-key' } } },
      { name: 'team-chat', slack: { channel: '#alerts', urlSecret: { name: 'am-slack', key: 'url' } } },
      {
        name: 'team-mail',
        email: {
          to: 'team@example.com',
          from: 'am@example.com',
          smarthost: 'smtp.example.com:587',
          username: 'am',
          passwordSecret: { name: 'am-smtp', key: 'password' },
        },
      },
      { name: 'tickets', webhook: { urlSecret: { name: 'am-webhook', key: 'url' } } },
    ],
  },
};

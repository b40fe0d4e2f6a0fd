/**
 * A small evaluator of Prometheus relabeling (the `replace`, `keep`, `drop` and `labeldrop` actions), so tests can check
 * what labels a rendered Promtail or Prometheus config gives a target instead of restating its rules.
 *
 * Semantics as upstream: source values joined by `separator` (default `;`), the regex anchored at both
 * ends (default `(.*)`), `$1`/`${1}` expanded in `replacement` (default `$1`), an empty result removing
 * the target label.
 *
 * @see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config
 */
export interface Relabel {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

/** Applies `rules` to `labels`; returns the resulting labels, or `undefined` when the target is dropped. */
export function relabel(rules: readonly Relabel[], labels: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const out: Record<string, string> = { ...labels };
  for (const rule of rules) {
    const value = (rule.source_labels ?? []).map((l) => out[l] ?? '').join(rule.separator ?? ';');
    const match = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(value);
    switch (rule.action ?? 'replace') {
      case 'keep':
        if (!match) return undefined;
        break;
      case 'drop':
        if (match) return undefined;
        break;
      case 'replace': {
        if (!match || rule.target_label === undefined) break;
        const result = (rule.replacement ?? '$1').replace(/\$\{?(\d+)\}?/g, (_, n: string) => match[Number(n)] ?? '');
        if (result === '') delete out[rule.target_label];
        else out[rule.target_label] = result;
        break;
      }
      case 'labeldrop': {
        // Matched against each label name, not against source values.
        const name = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`);
        for (const label of Object.keys(out)) if (name.test(label)) delete out[label];
        break;
      }
      default:
        throw new Error(`relabel action ${rule.action} is not modelled here`);
    }
  }
  return out;
}

/** The labels a log entry keeps: those not starting with `__`. */
export function visible(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith('__')));
}

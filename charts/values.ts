/**
 * The values a platform team edits: one typed model, its defaults, its validation and (generated from the
 * same schema) the JSON Schema editors use. `main.ts` validates the user's file against it once and cuts the
 * result into per-component props; no chart ever sees this whole object.
 *
 * Validation messages name the field path, the value received and what is allowed.
 */
import * as z from 'zod';
import { alertmanagerValues } from './alertmanager.ts';
import { logsValues } from './alloy.ts';
import { argocdValues } from './argocd.ts';
import { grafanaValues } from './grafana.ts';
import { helloAppValues } from './hello-app.ts';
import { lokiValues } from './loki.ts';
import { otelCollectorValues } from './otel-collector.ts';
import { priorityValues } from './priority.ts';
import { prometheusValues } from './prometheus.ts';
import { promtailValues } from './promtail.ts';
import { redfishValues } from './redfish.ts';
import { checkLookback, dnsLabel } from './shared/fields.ts';
import { describeIssue, ValuesError } from './shared/messages.ts';
import { networkPolicyValues } from './shared/network.ts';
import { bytes, seconds } from './shared/units.ts';
import { syslogValues } from './syslog.ts';
import { tempoValues } from './tempo.ts';

// Each component's section lives next to its chart (prometheusValues in prometheus.ts, ...), field types and
// unit parsing in shared/fields.ts and shared/units.ts, messages in shared/messages.ts; the names tests,
// cli/ and main.ts take from this module are re-exported here.
export { ValuesError } from './shared/messages.ts';
export { canonicalIpText, isGitRevision, MAX_DURATION, seconds } from './shared/units.ts';

/** The whole values model. */
export const valuesSchema = z
  .strictObject({
    namespace: dnsLabel().default('sightline').describe('Namespace of the stack (Pod Security `restricted`).'),
    clusterName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'is not a cluster name (letters, digits, ., _ and -)' })
      .default('dev')
      .describe('Name of the cluster, attached as the `cluster` label to everything leaving it.'),
    storageClassName: dnsLabel().optional().describe('StorageClass of every PersistentVolumeClaim. Default: the cluster default class.'),
    prometheus: prometheusValues,
    grafana: grafanaValues,
    redfish: redfishValues,
    loki: lokiValues,
    logs: logsValues,
    promtail: promtailValues,
    syslog: syslogValues,
    tempo: tempoValues,
    otelCollector: otelCollectorValues,
    helloApp: helloAppValues,
    networkPolicy: networkPolicyValues,
    priority: priorityValues,
    alertmanager: alertmanagerValues,
    argocd: argocdValues
      .optional()
      .describe('Renders an Argo CD Application and AppProject next to the output folder (<out>-argocd/). Default: none.'),
  })
  .superRefine((v, ctx) => {
    if (v.promtail.namespace === v.namespace) {
      ctx.addIssue({
        code: 'custom',
        path: ['promtail', 'namespace'],
        input: v.promtail.namespace,
        message: "is the stack's own namespace, whose Pod Security level (restricted) forbids the host paths node agents read: use another",
      });
    }
    if (seconds(v.prometheus.scrapeTimeout) > seconds(v.prometheus.scrapeInterval)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prometheus', 'scrapeTimeout'],
        input: v.prometheus.scrapeTimeout,
        message: `is longer than prometheus.scrapeInterval (${v.prometheus.scrapeInterval})`,
      });
    }
    checkLookback(ctx, ['prometheus', 'scrapeInterval'], 'prometheus', v.prometheus.scrapeInterval, v.prometheus.scrapeTimeout);
    // Size-based retention only protects the volume if it triggers before the volume is full.
    if (bytes(v.prometheus.retentionSize) >= bytes(v.prometheus.storage)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prometheus', 'retentionSize'],
        input: v.prometheus.retentionSize,
        message: `must be smaller than prometheus.storage (${v.prometheus.storage}), or the volume fills up before retention deletes anything`,
      });
    }
    if (v.redfish.groups.length > 0) {
      const hardware = hardwareNamespace(v);
      if (hardware === v.namespace) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message: "is the stack's namespace: the exporters need one of their own (it holds BMC credentials, and admits hostNetwork pods)",
        });
      } else if (hardware === v.promtail.namespace) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message:
            "is the node agents' namespace (promtail.namespace): the exporters need one of their own, so that access to the BMC credentials is granted apart",
        });
      } else if (hardware.length > 63) {
        ctx.addIssue({
          code: 'custom',
          path: ['redfish', 'namespace'],
          input: v.redfish.namespace,
          message: `is not given, and the default ${hardware} is longer than 63 characters: name the exporters' namespace`,
        });
      }
    }
  });

/** Validated values, every default applied. */
export type Values = z.output<typeof valuesSchema>;
/** The `argocd` section, when present. */
export type ArgoCdValues = NonNullable<Values['argocd']>;
/** What a user may write in a values file. */
export type ValuesInput = z.input<typeof valuesSchema>;

// ---------------------------------------------------------------------------------------------------------
// Parsing and messages.
// ---------------------------------------------------------------------------------------------------------

/**
 * Validates raw values (parsed YAML, or `undefined` for none) and applies defaults.
 *
 * @param source how to name the input in the error, e.g. the file path
 * @throws ValuesError listing every problem found
 */
export function parseValues(raw: unknown, source = 'values'): Values {
  // Without `jitless`, zod compiles a validator for each object schema (with `new Function`) on its first
  // parse, which pays off only over many parses: a synth parses once. Measured in fresh processes (CPU time,
  // medians of 7, machine loaded 9x over): the defaults parse in 7 ms instead of 17, the 1,000-server
  // inventory of `npm run bench` in 62 ms instead of 107, and that whole synth took 2.77 s of CPU instead of
  // 2.92 (medians of 11 interleaved runs). The result and the issues are the same either way.
  const result = valuesSchema.safeParse(raw ?? {}, { reportInput: true, jitless: true });
  if (result.success) return result.data;
  throw new ValuesError(
    source,
    result.error.issues.map((issue) => describeIssue(issue, valuesSchema)),
  );
}

/** Namespace of the hardware exporters: `redfish.namespace`, by default the stack's namespace + `-hardware`. */
export function hardwareNamespace(values: { readonly namespace: string; readonly redfish: { readonly namespace?: string | undefined } }): string {
  return values.redfish.namespace ?? `${values.namespace}-hardware`;
}

/** JSON Schema of a values file, for editors (`# yaml-language-server: $schema=...`). */
export function valuesJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(valuesSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

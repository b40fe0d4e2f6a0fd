/**
 * What the two charts running Grafana Alloy share (the node DaemonSet and, with `logs.agent: alloy`, the syslog
 * receiver): the container with its arguments, port and probe, the `loki.write` component pushing to Loki, and
 * the translation of relabel rules into `rule` blocks.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/reference/cli/run.md
 */
import type * as kplus from 'cdk8s-plus-28';
import { ref, type AlloyBlock, type AlloyReference } from './alloy-syntax.ts';
import type { SignalTarget } from './signal-target.ts';
import { agentReadiness } from './node-logs.ts';
import type { RelabelConfig } from './scrape.ts';

/** Port of Alloy's HTTP server (`/metrics`, `/-/ready`, the UI). Upstream's default, kept. */
export const ALLOY_HTTP_PORT = 12345;
/** Name of the container port serving `/metrics`, which the scrape jobs select. */
export const ALLOY_METRICS_PORT_NAME = 'http-metrics';
/** Name of the config file in its ConfigMap. */
export const ALLOY_CONFIG_FILE = 'config.alloy';
const CONFIG_DIR = '/etc/alloy';

/** Label of the `loki.write` component every pipeline ends in. */
const WRITE_LABEL = 'default';

/**
 * The Alloy container: `run` with the config file, the storage path (where components keep positions) and the
 * HTTP server on every interface so that Prometheus can scrape it (upstream listens on 127.0.0.1 only).
 *
 * The image's ENTRYPOINT is `/bin/alloy` and its CMD `run /etc/alloy/config.alloy --storage.path=/var/lib/alloy/data`;
 * `args` replaces the CMD whole, so every flag is stated here. `--disable-reporting` stops the anonymous usage
 * report Alloy otherwise sends to Grafana Labs: a cluster's agents should not call out to the internet.
 * `/-/ready` answers once the configuration is loaded. No liveness probe: `/-/healthy` fails when any component
 * is unhealthy (a Loki outage), and restarting every agent would not fix that.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/Dockerfile
 */
export function alloyContainer(storagePath: string): Pick<kplus.ContainerProps, 'name' | 'args' | 'ports' | 'readiness'> {
  return {
    name: 'alloy',
    args: [
      'run',
      `${CONFIG_DIR}/${ALLOY_CONFIG_FILE}`,
      `--storage.path=${storagePath}`,
      `--server.http.listen-addr=0.0.0.0:${ALLOY_HTTP_PORT}`,
      '--disable-reporting',
    ],
    ports: [{ name: ALLOY_METRICS_PORT_NAME, number: ALLOY_HTTP_PORT }],
    readiness: agentReadiness('/-/ready', ALLOY_HTTP_PORT),
  };
}

/** Mounts the ConfigMap holding `config.alloy` where {@link alloyContainer} reads it. */
export function mountAlloyConfig(container: kplus.Container, volume: kplus.Volume): void {
  container.mount(CONFIG_DIR, volume, { readOnly: true });
}

/**
 * `loki.write "default"`: pushes to Loki, every entry labelled with the cluster it comes from. To an external
 * Loki with its tenant (`tenant_id`) and credentials read from the mounted Secret (`basic_auth.password_file`,
 * `bearer_token_file`).
 */
export function lokiWrite(push: SignalTarget, clusterName: string): AlloyBlock {
  const auth = push.backend?.auth;
  const files = push.credentialFiles;
  return {
    name: 'loki.write',
    label: WRITE_LABEL,
    attributes: { external_labels: { cluster: clusterName } },
    blocks: [
      {
        name: 'endpoint',
        attributes: { url: push.address, tenant_id: push.backend?.tenant, bearer_token_file: files.tokenFile },
        blocks: auth?.type === 'basic' ? [{ name: 'basic_auth', attributes: { username: auth.username, password_file: files.passwordFile } }] : [],
      },
    ],
  };
}

/** The receiver of {@link lokiWrite}, for `forward_to`. */
export const LOKI_WRITE_RECEIVER: AlloyReference = ref('loki', 'write', WRITE_LABEL, 'receiver');

/**
 * Relabel rules as Alloy's `rule` blocks: the same fields under the same names as Prometheus's
 * `relabel_configs`, so one list of rules serves Promtail and Alloy alike.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/shared/reference/components/rule-block.md
 */
export function ruleBlocks(rules: readonly RelabelConfig[]): AlloyBlock[] {
  return rules.map((rule) => ({
    name: 'rule',
    attributes: {
      source_labels: rule.source_labels,
      separator: rule.separator,
      regex: rule.regex,
      modulus: rule.modulus,
      target_label: rule.target_label,
      replacement: rule.replacement,
      action: rule.action,
    },
  }));
}

/**
 * A `loki.relabel` component holding `rules`, for sources that take their rules as `relabel_rules` (the journal,
 * syslog): such a source applies them to each entry before dropping the `__` labels, as Promtail's
 * `relabel_configs` do. Its own pipeline (`forward_to`) is unused.
 */
export function relabelRulesComponent(label: string, rules: readonly RelabelConfig[]): { block: AlloyBlock; rules: AlloyReference } {
  return {
    block: { name: 'loki.relabel', label, attributes: { forward_to: [] }, blocks: ruleBlocks(rules) },
    rules: ref('loki', 'relabel', label, 'rules'),
  };
}

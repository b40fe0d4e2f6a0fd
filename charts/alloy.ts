import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import {
  ALLOY_CONFIG_FILE,
  ALLOY_HTTP_PORT,
  ALLOY_METRICS_PORT_NAME,
  alloyContainer,
  LOKI_WRITE_RECEIVER,
  lokiWrite,
  mountAlloyConfig,
  relabelRulesComponent,
  ruleBlocks,
} from './shared/alloy.ts';
import { podPort } from './shared/network.ts';
import { call, ref, renderAlloy, type AlloyBlock } from './shared/alloy-syntax.ts';
import { ConfigFiles } from './shared/config-file.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import {
  JOURNAL_JOB,
  journalRules,
  NODE_FILES_GLOB,
  NODE_FILES_JOB,
  nodeAgentDaemonSet,
  podLogRules,
  PROMTAIL_POSITIONS,
  promtailPositionsHostPath,
  type NodeAgentProps,
} from './shared/node-logs.ts';
import { podScrapeJob, type RuleGroup } from './shared/scrape.ts';
import { clusterReader } from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { k8sLabelKey, resources } from './shared/fields.ts';

/** Properties of {@link Alloy}: those of every node agent. */
export type AlloyProps = NodeAgentProps;

/**
 * Grafana Alloy on every node, in place of Promtail (`logs.agent: alloy`): ships the logs of the node's pods
 * (and, as configured, its journal and log files) to Loki with the same labels as Promtail, from the same rules
 * (`shared/node-logs.ts`).
 *
 * The pipeline, in `config.alloy`: `discovery.kubernetes` finds the pods scheduled on this node (a field selector
 * on `spec.nodeName`, so the API server sends each agent only its own node's pods), `discovery.relabel` labels
 * them and points `__path__` at their files, `loki.source.file` tails the files, `loki.process` parses the CRI
 * format, and `loki.write` pushes. The journal goes through `loki.source.journal`, the node's files through a
 * second `loki.source.file`.
 *
 * @see https://github.com/grafana/alloy/tree/v1.18.1/docs/sources/reference/components/loki
 */
export class Alloy extends Chart {
  /** Where the pods keep their positions: a host path, so that a restart neither re-ships nor skips lines. */
  private static readonly STORAGE_DIR = '/var/lib/alloy/data';
  /** Name of the alert group Alloy contributes. */
  public static readonly RULE_GROUP = 'alloy';

  /** The DaemonSet running Alloy on every Linux node. */
  public readonly daemonSet: kplus.DaemonSet;
  /** The ConfigMap holding `config.alloy`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: AlloyProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'alloy', component: 'log-collector', version: imageVersion(IMAGES.alloy) };
    const labels = recommendedLabels(identity);

    // discovery.kubernetes with the pod role lists and watches pods, and nothing else: the node's files and
    // journal need no API object (Promtail's node role for the files is replaced by the node name in HOSTNAME).
    const { serviceAccount, clusterRole } = clusterReader(this, { name: 'alloy', namespace: props.namespace, labels });
    clusterRole.allowRead(kplus.ApiResource.PODS);

    this.config = new ConfigFiles(this, 'Config', {
      name: 'alloy-config',
      labels,
      files: { [ALLOY_CONFIG_FILE]: renderAlloy(nodeAgentConfig(props)) },
    });

    // Root, with nothing more of it (see nodeAgentDaemonSet): Alloy's own user (473) could read no pod log.
    // Alloy writes only under its storage path, a host path below.
    const { daemonSet, container } = nodeAgentDaemonSet(this, {
      identity,
      name: 'alloy',
      serviceAccount,
      configChecksum: this.config.checksum,
      container: { ...alloyContainer(Alloy.STORAGE_DIR), image: IMAGES.alloy },
      resources: props.resources,
      nodeLogs: props.nodeLogs,
      placement: props.placement,
      mountConfig: (c) => mountAlloyConfig(c, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' })),
    });
    this.daemonSet = daemonSet;
    // Positions (file offsets, the journal cursor) survive restarts and upgrades on the node itself. One
    // directory per agents namespace, apart from Promtail's: the two agents' position files differ in format.
    container.mount(
      Alloy.STORAGE_DIR,
      kplus.Volume.fromHostPath(this, 'StorageVolume', 'storage', {
        path: `/var/lib/${props.namespace}/alloy`,
        type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
      }),
    );

    // Promtail's positions, read once: on a node's first start, each source converts them into its own
    // (legacy_positions_file, legacy_position), so switching from Promtail neither re-ships nor skips lines.
    container.mount(
      PROMTAIL_POSITIONS.dir,
      kplus.Volume.fromHostPath(this, 'PromtailPositionsVolume', 'promtail-positions', {
        path: promtailPositionsHostPath(props.namespace),
        type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
      }),
      { readOnly: true },
    );

    props.push.connect(this.daemonSet, container);
    props.metrics?.addScrapeJob(
      podScrapeJob({
        jobName: 'alloy',
        namespace: props.namespace,
        selector: selectorLabels(identity),
        portName: ALLOY_METRICS_PORT_NAME,
      }),
      podPort(this.daemonSet, { port: ALLOY_HTTP_PORT, protocol: 'TCP' }),
    );
    props.metrics?.addRuleGroup(alloyRules('alloy'));
  }
}

/** `config.alloy` of the node agent. */
function nodeAgentConfig(props: AlloyProps): AlloyBlock[] {
  // Read only when the component has no positions of its own yet (its first start on a node); Promtail's
  // offsets are matched by file path.
  const legacyPositions = `${PROMTAIL_POSITIONS.dir}/${PROMTAIL_POSITIONS.file}`;
  const blocks: AlloyBlock[] = [
    {
      name: 'discovery.kubernetes',
      label: 'pods',
      attributes: { role: 'pod' },
      blocks: [{ name: 'selectors', attributes: { role: 'pod', field: call('string.format', 'spec.nodeName=%s', call('sys.env', 'HOSTNAME')) } }],
    },
    {
      name: 'discovery.relabel',
      label: 'pods',
      attributes: { targets: ref('discovery.kubernetes.pods.targets') },
      blocks: ruleBlocks(podLogRules()),
    },
    {
      name: 'loki.source.file',
      label: 'pods',
      attributes: {
        targets: ref('discovery.relabel.pods.output'),
        forward_to: [ref('loki.process.pods.receiver')],
        legacy_positions_file: legacyPositions,
      },
      // `__path__` is a glob (the file of the running container and of its previous instance).
      blocks: [{ name: 'file_match', attributes: { enabled: true } }],
    },
    {
      name: 'loki.process',
      label: 'pods',
      attributes: { forward_to: [LOKI_WRITE_RECEIVER] },
      // `filename` would start a new stream at every container restart (0.log, 1.log, ...).
      blocks: [{ name: 'stage.cri' }, { name: 'stage.label_drop', attributes: { values: ['filename'] } }],
    },
  ];
  if (props.nodeLogs.journal) {
    const journal = relabelRulesComponent('journal', journalRules());
    blocks.push(journal.block, {
      name: 'loki.source.journal',
      label: 'node',
      // `job` replaces the component name Alloy would set (loki.source.journal.node).
      attributes: { labels: { job: JOURNAL_JOB }, relabel_rules: journal.rules, forward_to: [LOKI_WRITE_RECEIVER] },
      // Promtail keeps the journal's cursor under its job name.
      blocks: [{ name: 'legacy_position', attributes: { file: legacyPositions, name: JOURNAL_JOB } }],
    });
  }
  if (props.nodeLogs.files) {
    blocks.push({
      name: 'loki.source.file',
      label: 'node_files',
      attributes: {
        targets: [{ __path__: NODE_FILES_GLOB, job: NODE_FILES_JOB, node_name: call('sys.env', 'HOSTNAME') }],
        forward_to: [LOKI_WRITE_RECEIVER],
        legacy_positions_file: legacyPositions,
      },
      blocks: [{ name: 'file_match', attributes: { enabled: true } }],
    });
  }
  blocks.push(lokiWrite(props.push, props.clusterName));
  return blocks;
}

/**
 * Alerts on an Alloy scrape job: entries Loki never received, and components that stopped working.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/reference/components/loki/loki.write.md (loki_write_dropped_entries_total)
 * @see https://github.com/grafana/alloy/blob/v1.18.1/operations/alloy-mixin/alerts/controller.libsonnet (alloy_component_controller_running_components)
 */
export function alloyRules(job: string): RuleGroup {
  const where = `{{ $labels.namespace }}/{{ $labels.pod }}`;
  return {
    name: Alloy.RULE_GROUP,
    rules: [
      {
        alert: 'AlloyLogEntriesDropped',
        expr: `sum by (namespace, pod) (increase(loki_write_dropped_entries_total{job="${job}"}[10m])) > 0`,
        labels: { severity: 'warning' },
        annotations: {
          summary: `Alloy ${where} dropped log entries`,
          description: `Alloy ${where} dropped {{ $value | humanize }} log entries in 10 minutes that Loki refused or never answered for, after every retry. Check Loki's health and its rate limits, and the pod's logs for the push errors.`,
        },
      },
      {
        alert: 'AlloyUnhealthyComponents',
        expr: `sum by (namespace, pod) (alloy_component_controller_running_components{job="${job}", health_type!="healthy"}) > 0`,
        for: '15m',
        labels: { severity: 'warning' },
        annotations: {
          summary: `Alloy ${where} has unhealthy components`,
          description: `{{ $value }} components of Alloy ${where} have been unhealthy for 15 minutes. Its UI (port-forward to 12345) shows which, and why.`,
        },
      },
    ],
  };
}

/** The `logs` section of the values. */
export const logsValues = z
  .strictObject({
    agent: z
      .enum(['promtail', 'alloy'])
      .default('promtail')
      .describe(
        'The log agent on every node and in the syslog receiver: promtail (end of life since 2026-03-02), or its successor Grafana Alloy. The promtail.* and syslog.* settings apply to either.',
      ),
    rolloutNodeLabel: k8sLabelKey()
      .optional()
      .describe(
        'Switch agents node by node: both agents render, and nodes labelled <rolloutNodeLabel>=<the agent not chosen by logs.agent> run that agent, every other node the chosen one. Default: none (the chosen agent on every node).',
      ),
    alloy: z
      .strictObject({
        resources: resources({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } }).describe(
          "Requests and limits of each node's Alloy container (with agent: alloy); the syslog receiver takes syslog.resources.",
        ),
      })
      .prefault({}),
  })
  .prefault({});

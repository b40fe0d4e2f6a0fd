/**
 * The composition root: reads the values file, validates it, cuts it into per-component props, wires the
 * components' published endpoints together, and synthesizes the manifests.
 *
 *   node main.ts [--values FILE] [--out DIR] [--write-schema FILE]
 *
 * Rendering goes to a temporary sibling of the output folder that replaces it only when everything
 * succeeded: invalid values or a failing chart leave the previous output byte-identical.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { App, Duration } from 'cdk8s';
import * as YAML from 'yaml';
import { Grafana } from './charts/grafana.ts';
import { HelloApp } from './charts/hello-app.ts';
import { Loki } from './charts/loki.ts';
import { StackNamespace } from './charts/namespace.ts';
import { OtelCollector } from './charts/otel-collector.ts';
import { Prometheus } from './charts/prometheus.ts';
import { Promtail } from './charts/promtail.ts';
import { Redfish } from './charts/redfish.ts';
import { DATASOURCE_UID } from './charts/shared/datasources.ts';
import { Syslog } from './charts/syslog.ts';
import { Tempo } from './charts/tempo.ts';
import { hardwareNamespace, parseValues, seconds, valuesJsonSchema, ValuesError, type Values } from './charts/values.ts';

/** The charts of one rendered stack, for tests that inspect wiring. */
export interface Stack {
  readonly app: App;
  readonly namespace: StackNamespace;
  readonly agentsNamespace: StackNamespace;
  readonly prometheus: Prometheus;
  readonly grafana: Grafana;
  readonly loki: Loki;
  readonly promtail: Promtail;
  readonly syslog: Syslog;
  readonly tempo: Tempo;
  readonly otelCollector: OtelCollector;
  /** The demo service, unless switched off. */
  readonly helloApp?: HelloApp;
  /** Hardware monitoring through the BMCs; absent when the values list no exporter group. */
  readonly redfish?: Redfish;
}

/** Builds every chart of the stack from validated values. Pure: no file, flag or environment is read. */
export function buildStack(values: Values, outdir = 'dist'): Stack {
  const app = new App({ outdir });
  const namespace = new StackNamespace(app, 'namespace', { name: values.namespace, podSecurity: 'restricted' });

  const prometheus = new Prometheus(app, 'prometheus', {
    namespace: namespace.name,
    clusterName: values.clusterName,
    storageClassName: values.storageClassName,
    ...values.prometheus,
    // Tempo is always rendered, so exemplars link to its traces.
    exemplarTraceDataSourceUid: DATASOURCE_UID.tempo,
  });
  const grafana = new Grafana(app, 'grafana', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    metrics: prometheus,
    ...values.grafana,
  });
  grafana.addDataSource(prometheus.dataSource);

  const loki = new Loki(app, 'loki', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    metrics: prometheus,
    grafana,
    ...values.loki,
  });

  const tempo = new Tempo(app, 'tempo', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    ...values.tempo,
    blockRetention: duration(values.tempo.blockRetention),
    compactedBlockRetention: duration(values.tempo.compactedBlockRetention),
    maxBlockDuration: duration(values.tempo.maxBlockDuration),
    searchDurationSlo: duration(values.tempo.searchDurationSlo),
    remoteWrite: prometheus.remoteWriteEndpoint,
    metrics: prometheus,
    grafana,
    logsDataSourceUid: loki.dataSource.uid,
  });
  const otelCollector = new OtelCollector(app, 'otel-collector', {
    namespace: namespace.name,
    ...values.otelCollector,
    traces: tempo.otlpGrpcEndpoint,
    logs: loki.otlpEndpoint,
    metricsOtlp: prometheus.otlpEndpoint,
    metrics: prometheus,
  });

  const { enabled: demo, image, ...helloAppValues } = values.helloApp;
  const helloApp = demo
    ? new HelloApp(app, 'hello-app', {
        namespace: namespace.name,
        ...helloAppValues,
        image: `${image.repository}:${image.tag}`,
        otlpEndpoint: otelCollector.otlpHttpEndpoint,
      })
    : undefined;

  // Node agents get a namespace of their own: reading the node's logs takes hostPath volumes, which Pod
  // Security allows only at `privileged` (`baseline` already forbids them). Only the agents run there, so
  // the rest of the stack stays under `restricted`.
  const { namespace: agentsNamespaceName, ...promtailValues } = values.promtail;
  const agentsNamespace = new StackNamespace(app, 'agents-namespace', { name: agentsNamespaceName, podSecurity: 'privileged' });
  const promtail = new Promtail(app, 'promtail', {
    namespace: agentsNamespace.name,
    clusterName: values.clusterName,
    push: loki.pushEndpoint,
    metrics: prometheus,
    ...promtailValues,
  });
  const syslog = new Syslog(app, 'syslog', {
    namespace: namespace.name,
    clusterName: values.clusterName,
    push: loki.pushEndpoint,
    metrics: prometheus,
    ...values.syslog,
  });

  for (const chart of [prometheus, grafana, loki, tempo, otelCollector, helloApp, syslog]) chart?.addDependency(namespace);
  promtail.addDependency(agentsNamespace);
  const redfish = buildRedfish(app, values, prometheus, grafana);
  return { app, namespace, agentsNamespace, prometheus, grafana, loki, promtail, syslog, tempo, otelCollector, helloApp, redfish };
}

/**
 * The hardware charts, only when the values list exporter groups: without servers there is nothing to scrape,
 * and alerts and a dashboard over metrics that never come would only be noise. The exporters get a namespace
 * of their own: their Secrets hold BMC credentials (which can power servers off), so access to them is granted
 * apart from the stack's; and hostNetwork pods need Pod Security `privileged`, which the stack's namespace
 * must not be lowered to. The level is `restricted` when no group needs the host's network.
 */
function buildRedfish(app: App, values: Values, prometheus: Prometheus, grafana: Grafana): Redfish | undefined {
  const { groups, resources } = values.redfish;
  if (groups.length === 0) return undefined;
  const namespace = new StackNamespace(app, 'hardware-namespace', {
    name: hardwareNamespace(values),
    podSecurity: groups.some((group) => group.hostNetwork) ? 'privileged' : 'restricted',
  });
  const redfish = new Redfish(app, 'redfish', { namespace: namespace.name, groups, resources, metrics: prometheus, grafana });
  redfish.addDependency(namespace);
  return redfish;
}

/** A validated values duration (`15d`, `1h30m`) as a cdk8s Duration, for charts whose app needs another syntax. */
function duration(value: string): Duration {
  return Duration.millis(Math.round(seconds(value) * 1000));
}

/** Reads and validates a values file; no file means the built-in defaults (a single-node dev stack). */
export function loadValues(file: string | undefined): Values {
  if (file === undefined) return parseValues(undefined, 'the built-in defaults');
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValuesError(file, [error instanceof Error ? error.message : String(error)]);
  }
  return parseValues(raw, file);
}

/**
 * Synthesizes into a temporary folder next to `out` and swaps it in only on success, so a failure at any
 * point leaves `out` exactly as it was.
 */
export function synthAtomically(values: Values, out: string): void {
  const staging = mkdtempSync(join(dirname(out), `.synth-${basename(out)}-`));
  const previous = `${staging}.previous`;
  try {
    buildStack(values, staging).app.synth();
    if (existsSync(out)) renameSync(out, previous);
    renameSync(staging, out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      values: { type: 'string' },
      out: { type: 'string', default: 'dist' },
      'write-schema': { type: 'string' },
    },
    strict: true,
  });
  if (flags['write-schema'] !== undefined) {
    writeFileSync(flags['write-schema'], `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`);
    return 0;
  }
  try {
    synthAtomically(loadValues(flags.values), flags.out);
    return 0;
  } catch (error) {
    const message = error instanceof ValuesError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error);
    process.stderr.write(`synth failed: ${message}\n${flags.out}/ was left unchanged.\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2));
}

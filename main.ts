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
import { StackNamespace } from './charts/namespace.ts';
import { OtelCollector } from './charts/otel-collector.ts';
import { Prometheus } from './charts/prometheus.ts';
import { Redfish } from './charts/redfish.ts';
import { DATASOURCE_UID } from './charts/shared/datasources.ts';
import { Tempo } from './charts/tempo.ts';
import { hardwareNamespace, parseValues, seconds, valuesJsonSchema, ValuesError, type Values } from './charts/values.ts';

/** The charts of one rendered stack, for tests that inspect wiring. */
export interface Stack {
  readonly app: App;
  readonly namespace: StackNamespace;
  readonly prometheus: Prometheus;
  readonly grafana: Grafana;
  readonly tempo: Tempo;
  readonly otelCollector: OtelCollector;
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
  });
  const otelCollector = new OtelCollector(app, 'otel-collector', {
    namespace: namespace.name,
    ...values.otelCollector,
    traces: tempo.otlpGrpcEndpoint,
    metricsOtlp: prometheus.otlpEndpoint,
    metrics: prometheus,
  });

  for (const chart of [prometheus, grafana, tempo, otelCollector]) chart.addDependency(namespace);
  return { app, namespace, prometheus, grafana, tempo, otelCollector, redfish: buildRedfish(app, values, prometheus, grafana) };
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

/**
 * The composition root: reads the values file, validates it, cuts it into per-component props, wires the
 * components' published endpoints together, and synthesizes the manifests.
 *
 *   node main.ts [--values FILE] [--out DIR]   one stack: the defaults into dist/ (or $CDK8S_OUTDIR, as `cdk8s synth` sets it)
 *   node main.ts --all                          what is committed: dist/ from the defaults, rendered/<env>/ from environments/<env>.yaml
 *   node main.ts --write-schema FILE
 *
 * A stack whose values have an `argocd` section also gets its Argo CD Application and AppProject, in the
 * sibling folder `<out>-argocd/`: outside the folder the Application syncs, which `kubectl apply -f <out>`
 * must take on a cluster without Argo CD.
 *
 * Rendering goes to temporary siblings of the output folders that replace them only when everything
 * succeeded: invalid values or a failing chart leave the previous output byte-identical.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { App, Duration } from 'cdk8s';
import * as YAML from 'yaml';
import { Alertmanager } from './charts/alertmanager.ts';
import type { ArgoCd } from './charts/argocd.ts';
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
import { annotateForArgoCd, namespacesFirst, type Manifest } from './charts/shared/delivery.ts';
import { hardwareNamespace, parseValues, seconds, valuesJsonSchema, ValuesError, type ArgoCdValues, type Values } from './charts/values.ts';

const load = createRequire(import.meta.url);

/** The charts of one rendered stack, for tests that inspect wiring. */
export interface Stack {
  readonly app: App;
  readonly namespace: StackNamespace;
  readonly agentsNamespace: StackNamespace;
  readonly prometheus: Prometheus;
  readonly alertmanager: Alertmanager;
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
  /** Every object of the stack, as rendered. */
  readonly objects: readonly Manifest[];
}

/** Builds every chart of the stack from validated values. Pure: no file, flag or environment is read. */
export function buildStack(values: Values, outdir = 'dist'): Stack {
  // Construct metadata (which cdk8s writes on request of the environment) is no Kubernetes object: never in dist/.
  const app = new App({ outdir, recordConstructMetadata: false });
  const namespace = new StackNamespace(app, 'namespace', { name: values.namespace, podSecurity: 'restricted' });

  // Before Prometheus, which sends it alerts; it monitors Alertmanager in return (below).
  const alertmanager = new Alertmanager(app, 'alertmanager', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    ...values.alertmanager,
  });
  const prometheus = new Prometheus(app, 'prometheus', {
    namespace: namespace.name,
    clusterName: values.clusterName,
    storageClassName: values.storageClassName,
    ...values.prometheus,
    // Tempo is always rendered, so exemplars link to its traces.
    exemplarTraceDataSourceUid: DATASOURCE_UID.tempo,
    alertmanagers: alertmanager.endpoint,
  });
  prometheus.addScrapeJob(alertmanager.scrapeJob);
  prometheus.addRuleGroup(alertmanager.rules);
  const grafana = new Grafana(app, 'grafana', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    metrics: prometheus,
    ...values.grafana,
  });
  grafana.addDataSource(prometheus.dataSource);
  grafana.addDataSource(alertmanager.dataSource);
  grafana.addDashboard(prometheus.dashboard);
  grafana.addDashboard(alertmanager.dashboard);

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
    grafana,
  });

  const { enabled: demo, image, ...helloAppValues } = values.helloApp;
  const helloApp = demo
    ? new HelloApp(app, 'hello-app', {
        namespace: namespace.name,
        ...helloAppValues,
        image: `${image.repository}:${image.tag}`,
        otlpEndpoint: otelCollector.otlpHttpEndpoint,
        grafana,
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
    grafana,
    ...promtailValues,
  });
  const syslog = new Syslog(app, 'syslog', {
    namespace: namespace.name,
    clusterName: values.clusterName,
    push: loki.pushEndpoint,
    metrics: prometheus,
    grafana,
    ...values.syslog,
  });

  const redfish = buildRedfish(app, values, prometheus, grafana);

  namespacesFirst(app);
  const objects = annotateForArgoCd(app);
  return { app, namespace, agentsNamespace, prometheus, alertmanager, grafana, loki, promtail, syslog, tempo, otelCollector, helloApp, redfish, objects };
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
  return new Redfish(app, 'redfish', { namespace: namespace.name, groups, resources, metrics: prometheus, grafana });
}

/** A validated values duration (`15d`, `1h30m`) as a cdk8s Duration, for charts whose app needs another syntax. */
function duration(value: string): Duration {
  return Duration.millis(Math.round(seconds(value) * 1000));
}

/**
 * Builds the Argo CD Application and AppProject of `stack`, rendered into the folder `path` of the repository
 * (unless the values name another). Pure, like {@link buildStack}.
 */
export function buildArgoCd(argocd: ArgoCdValues, stack: Stack, path: string, outdir: string): ArgoCd {
  // Loaded on first use rather than imported: the chart and its generated Argo CD classes take about 30 ms
  // to compile without the compile cache, which a stack without an `argocd` section need not pay.
  const { ArgoCd, footprintOf } = load('./charts/argocd.ts') as typeof import('./charts/argocd.ts');
  const app = new App({ outdir, recordConstructMetadata: false });
  return new ArgoCd(app, 'argocd', {
    namespace: argocd.namespace,
    project: argocd.project,
    repoURL: argocd.repoURL,
    targetRevision: argocd.targetRevision,
    path: argocd.path ?? path,
    server: argocd.destination.server,
    destinationNamespace: argocd.destination.namespace ?? stack.namespace.name,
    automated: argocd.automated,
    footprint: footprintOf(stack.objects),
  });
}

/** Reads and validates a values file; no file means the built-in defaults (a single-node dev stack). */
export function loadValues(file: string | undefined): Values {
  if (file === undefined) return parseValues(undefined, DEFAULTS);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValuesError(file, [error instanceof Error ? error.message : String(error)]);
  }
  return parseValues(raw, file);
}

const DEFAULTS = 'the built-in defaults';

/** One stack to render: validated values, where they came from, and its output folder. */
export interface RenderTarget {
  readonly values: Values;
  /** The values file, or the defaults, as error messages name it. */
  readonly source: string;
  /** Output folder, relative to the repository root (or absolute). */
  readonly out: string;
}

const ARGOCD_SUFFIX = '-argocd';

/** Where the Argo CD output of a stack rendered into `out` goes: a sibling, never inside `out`. */
export function argoCdFolder(out: string): string {
  return `${out}${ARGOCD_SUFFIX}`;
}

/** The folder `npm run synth` renders each environment into. */
export const RENDERED_DIR = 'rendered';
/** The folders `npm run synth` owns and replaces, relative to the repository root: what is committed. */
export const COMMITTED_OUTPUTS: readonly string[] = ['dist', argoCdFolder('dist'), RENDERED_DIR];
/** The committed values files, one per environment. */
export const ENVIRONMENTS_DIR = join(import.meta.dirname, 'environments');

/**
 * What `npm run synth` renders and the repository commits: the defaults into `dist/`, and every
 * `environments/<name>.yaml` into `rendered/<name>/`.
 */
export function committedTargets(): RenderTarget[] {
  const environments = readdirSync(ENVIRONMENTS_DIR).filter((f) => f.endsWith('.yaml')).sort();
  return [
    { values: loadValues(undefined), source: DEFAULTS, out: 'dist' },
    ...environments.map((file) => {
      const source = `environments/${file}`;
      const name = basename(file, '.yaml');
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.endsWith(ARGOCD_SUFFIX)) {
        throw new ValuesError(source, [`"${name}" is not an environment name (lower-case letters, digits and -, not ending in ${ARGOCD_SUFFIX})`]);
      }
      return { values: loadValues(join(ENVIRONMENTS_DIR, file)), source, out: `${RENDERED_DIR}/${name}` };
    }),
  ];
}

/**
 * Renders `targets` under `root`, replacing the folders in `owned` (relative to `root`) as a whole: each is
 * rendered into a temporary sibling that is swapped in only once every target rendered, and an owned folder
 * that nothing was rendered into (an Argo CD output whose values dropped the `argocd` section) is removed.
 */
export function synth(root: string, targets: readonly RenderTarget[], owned: readonly string[]): void {
  const folders = owned.map((folder) => resolve(root, folder));
  const staging = folders.map((folder) => mkdtempSync(join(dirname(folder), `.synth-${basename(folder)}-`)));
  const staged = (out: string) => {
    const path = resolve(root, out);
    const i = folders.findIndex((folder) => path === folder || path.startsWith(folder + sep));
    if (i < 0) throw new Error(`${out} is outside the folders this synth replaces (${owned.join(', ')})`);
    return join(staging[i]!, relative(folders[i]!, path));
  };
  try {
    for (const target of targets) {
      const stack = buildStack(target.values, staged(target.out));
      stack.app.synth();
      if (target.values.argocd) {
        App.of(buildArgoCd(target.values.argocd, stack, repositoryPath(root, target), staged(argoCdFolder(target.out)))).synth();
      }
    }
    folders.forEach((folder, i) => {
      const previous = `${staging[i]}.previous`;
      if (existsSync(folder)) renameSync(folder, previous);
      if (readdirSync(staging[i]!).length > 0) renameSync(staging[i]!, folder);
    });
  } finally {
    for (const stage of staging) {
      rmSync(stage, { recursive: true, force: true });
      rmSync(`${stage}.previous`, { recursive: true, force: true });
    }
  }
}

/** The Application's default path: the output folder, as the repository names it. */
function repositoryPath(root: string, target: RenderTarget): string {
  const path = relative(resolve(root), resolve(root, target.out)).split(sep).join('/');
  if (target.values.argocd?.path === undefined && (path === '' || path.startsWith('..') || isAbsolute(path))) {
    throw new ValuesError(target.source, [`argocd.path: nothing was given, and the output folder ${target.out} is not inside the repository, so it cannot be the default`]);
  }
  return path;
}

function main(argv: string[]): number {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      values: { type: 'string' },
      out: { type: 'string' },
      all: { type: 'boolean', default: false },
      'write-schema': { type: 'string' },
    },
    strict: true,
  });
  if (flags['write-schema'] !== undefined) {
    writeFileSync(flags['write-schema'], `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (flags.all && (flags.values !== undefined || flags.out !== undefined)) {
    process.stderr.write('--all renders every committed output; it takes no --values or --out\n');
    return 2;
  }
  // A trailing slash would put the Argo CD folder inside the output (dist/-argocd).
  const out = (flags.out ?? process.env.CDK8S_OUTDIR ?? 'dist').replace(/[\\/]+$/, '');
  const outputs = flags.all ? COMMITTED_OUTPUTS : [out, argoCdFolder(out)];
  try {
    const targets = flags.all ? committedTargets() : [{ values: loadValues(flags.values), source: flags.values ?? DEFAULTS, out }];
    synth('.', targets, outputs);
    return 0;
  } catch (error) {
    const message = error instanceof ValuesError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error);
    process.stderr.write(`synth failed: ${message}\nThe output (${outputs.map((o) => `${o}/`).join(', ')}) was left unchanged.\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2));
}

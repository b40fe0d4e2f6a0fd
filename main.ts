/**
 * The composition root: cuts validated values into per-component props, wires the components' published
 * endpoints together, and synthesizes the manifests. The command line (`node main.ts --help`), what is
 * rendered where, and the all-or-nothing replacement of output folders live in cli/.
 */
// First, so that an older Node that can load this file stops with one line (`npm run synth` preloads it for one that cannot).
import './cli/require-node.mjs';
import { App } from 'cdk8s';
import { Alertmanager } from './charts/alertmanager.ts';
import { ArgoCd, footprintOf } from './charts/argocd.ts';
import { Alloy } from './charts/alloy.ts';
import { Grafana } from './charts/grafana.ts';
import { HelloApp } from './charts/hello-app.ts';
import { externalLoki, Loki, type LogStore } from './charts/loki.ts';
import { StackNamespace } from './charts/namespace.ts';
import { OtelCollector } from './charts/otel-collector.ts';
import { Prometheus } from './charts/prometheus.ts';
import { NODE_CRITICAL, setPriorityClass, StackPriority } from './charts/priority.ts';
import { Promtail } from './charts/promtail.ts';
import { Redfish } from './charts/redfish.ts';
import { DATASOURCE_UID } from './charts/shared/datasources.ts';
import { SignalTarget } from './charts/shared/signal-target.ts';
import { Syslog, type LogAgent } from './charts/syslog.ts';
import { externalTempo, Tempo, type TraceStore } from './charts/tempo.ts';
import { CanonicalResolver } from './charts/shared/canonical.ts';
import { annotateForArgoCd, namespacesFirst, type Manifest } from './charts/shared/delivery.ts';
import { applyNetworkPolicies, NAMESPACE_NAME_LABEL } from './charts/shared/network.ts';
import { hardwareNamespace, type ArgoCdValues, type Values } from './charts/values.ts';
import { runCli } from './cli/command.ts';
import { replaceFolders } from './cli/replace.ts';
import { applicationPath, argoCdFolder, type RenderTarget } from './cli/targets.ts';

/** The charts of one rendered stack, for tests that inspect wiring. */
export interface Stack {
  readonly app: App;
  readonly namespace: StackNamespace;
  readonly agentsNamespace: StackNamespace;
  readonly prometheus: Prometheus;
  readonly alertmanager: Alertmanager;
  readonly grafana: Grafana;
  /** The stack's Loki, unless the values point at an external one (`loki.external`). */
  readonly loki?: Loki;
  /** The node agent with `logs.agent: promtail` (the default). */
  readonly promtail?: Promtail;
  /** The node agent with `logs.agent: alloy`. */
  readonly alloy?: Alloy;
  readonly syslog: Syslog;
  /** The stack's Tempo, unless the values point at an external one (`tempo.external`). */
  readonly tempo?: Tempo;
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
  // Objects as the API server stores them, so that applying the same output again changes nothing.
  const app = new App({ outdir, recordConstructMetadata: false, resolvers: [new CanonicalResolver()] });
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
    // The Tempo datasource is always provisioned (the stack's Tempo or an external one), so exemplars link to its traces.
    exemplarTraceDataSourceUid: DATASOURCE_UID.tempo,
    alertmanagers: alertmanager.endpoint,
  });
  prometheus.addScrapeJob(alertmanager.scrapeJob, alertmanager.endpoint);
  prometheus.addRuleGroup(alertmanager.rules);
  const grafana = new Grafana(app, 'grafana', {
    namespace: namespace.name,
    storageClassName: values.storageClassName,
    metrics: prometheus,
    ...values.grafana,
  });
  // With an external metrics store, Grafana queries it (Prometheus writes everything there) under the same uid.
  if (values.prometheus.external) grafana.addExternalDataSource(prometheus.dataSource, values.prometheus.external);
  else grafana.addDataSource(prometheus.dataSource, prometheus.endpoint);
  grafana.addDataSource(alertmanager.dataSource, alertmanager.endpoint);
  grafana.addDashboard(prometheus.dashboard);
  grafana.addDashboard(alertmanager.dashboard);
  // The one consumer from outside the stack that reaches Grafana: the ingress controller.
  grafana.endpoint.allowFrom({ namespaces: { [NAMESPACE_NAME_LABEL]: values.networkPolicy.ingressNamespace } });

  // Logs and traces go to the stack's Loki and Tempo, or to backends the values point at (loki.external,
  // tempo.external), which render nothing but their Grafana datasource: the clients below take either.
  const { external: externalLogs, ...lokiValues } = values.loki;
  const loki = externalLogs
    ? undefined
    : new Loki(app, 'loki', { namespace: namespace.name, storageClassName: values.storageClassName, metrics: prometheus, grafana, ...lokiValues });
  const logs: LogStore = loki ?? externalLoki(externalLogs!, grafana);

  const { external: externalTraces, ...tempoValues } = values.tempo;
  const tempo = externalTraces
    ? undefined
    : new Tempo(app, 'tempo', {
        namespace: namespace.name,
        storageClassName: values.storageClassName,
        ...tempoValues,
        remoteWrite: prometheus.remoteWriteEndpoints,
        metrics: prometheus,
        grafana,
        logsDataSourceUid: DATASOURCE_UID.loki,
      });
  const traces: TraceStore = tempo ?? externalTempo(externalTraces!, { grafana, logsDataSourceUid: DATASOURCE_UID.loki });

  const otelCollector = new OtelCollector(app, 'otel-collector', {
    namespace: namespace.name,
    ...values.otelCollector,
    traces: traces.otlp,
    logs: logs.otlp,
    metricsOtlp: prometheus.otlpEndpoints.map(SignalTarget.embedded),
    metrics: prometheus,
    grafana,
  });
  // Applications anywhere in the cluster (or in the namespaces the values name) send OTLP to the gateway.
  for (const endpoint of [otelCollector.otlpGrpcEndpoint, otelCollector.otlpHttpEndpoint]) {
    endpoint.allowFrom({ namespaces: values.networkPolicy.otlpNamespaceSelector });
  }

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
  const { namespace: agentsNamespaceName, nodeLogs, resources: promtailResources } = values.promtail;
  const agentsNamespace = new StackNamespace(app, 'agents-namespace', { name: agentsNamespaceName, podSecurity: 'privileged' });
  const { agent, rolloutNodeLabel } = values.logs;
  // During a node-by-node switch both agents run: the other one only on the nodes labelled with its name.
  const other = agent === 'promtail' ? 'alloy' : 'promtail';
  const runs = (a: LogAgent) => a === agent || rolloutNodeLabel !== undefined;
  const nodeAgent = (a: LogAgent) => ({
    namespace: agentsNamespace.name,
    clusterName: values.clusterName,
    push: logs.push,
    metrics: prometheus,
    nodeLogs,
    grafana,
    placement: rolloutNodeLabel === undefined ? undefined : { nodeLabel: rolloutNodeLabel, value: other, onLabelled: a === other },
  });
  const promtail = runs('promtail') ? new Promtail(app, 'promtail', { ...nodeAgent('promtail'), resources: promtailResources }) : undefined;
  const alloy = runs('alloy') ? new Alloy(app, 'alloy', { ...nodeAgent('alloy'), resources: values.logs.alloy.resources }) : undefined;
  const syslog = new Syslog(app, 'syslog', {
    namespace: namespace.name,
    clusterName: values.clusterName,
    push: logs.push,
    metrics: prometheus,
    agent,
    grafana,
    ...values.syslog,
  });

  const redfish = buildRedfish(app, values, prometheus, grafana);

  if (values.priority.enabled) {
    const priority = new StackPriority(app, 'priority', {
      storesClassName: `${namespace.name}-stores`,
      storesValue: values.priority.storeValue,
      agentsNamespace: agentsNamespace.name,
    });
    for (const store of [prometheus, loki, tempo]) {
      if (!store) continue;
      setPriorityClass(store.statefulSet, priority.storesClassName);
      store.addDependency(priority);
    }
    // The node agents run as system-node-critical; the hardware exporters do not: a node works without them,
    // and a node under pressure should shed a monitoring exporter before the workloads it runs.
    for (const nodeAgent of [promtail, alloy]) {
      if (!nodeAgent) continue;
      setPriorityClass(nodeAgent.daemonSet, NODE_CRITICAL);
      nodeAgent.addDependency(priority);
    }
  }

  const { enabled: networkPolicies, egress } = values.networkPolicy;
  applyNetworkPolicies(app, { enabled: networkPolicies, egress: egress.enabled ? egress : undefined });
  namespacesFirst(app);
  const objects = annotateForArgoCd(app);
  return {
    app,
    namespace,
    agentsNamespace,
    prometheus,
    alertmanager,
    grafana,
    loki,
    promtail,
    alloy,
    syslog,
    tempo,
    otelCollector,
    helloApp,
    redfish,
    objects,
  };
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

/**
 * Builds the Argo CD Application and AppProject of `stack`, rendered into the folder `path` of the repository
 * (unless the values name another). Pure, like {@link buildStack}.
 */
export function buildArgoCd(argocd: ArgoCdValues, stack: Stack, path: string, outdir: string): ArgoCd {
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

/**
 * Renders `targets` under `root`, replacing the folders in `owned` (relative to `root`) as a whole: nothing
 * changes unless every target rendered (see {@link replaceFolders}).
 */
export function synth(root: string, targets: readonly RenderTarget[], owned: readonly string[]): void {
  replaceFolders(root, owned, (staged) => {
    for (const target of targets) {
      const stack = buildStack(target.values, staged(target.out));
      stack.app.synth();
      if (target.values.argocd) {
        App.of(buildArgoCd(target.values.argocd, stack, applicationPath(root, target), staged(argoCdFolder(target.out)))).synth();
      }
    }
  });
}

if (import.meta.main) {
  process.exitCode = runCli(process.argv.slice(2), synth);
}

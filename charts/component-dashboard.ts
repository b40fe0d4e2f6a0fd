/**
 * The dashboard every component of the stack gets: its health, throughput, errors and saturation, one row
 * each, built with the Grafana foundation SDK from the component's own queries. Charts describe their panels
 * as data ({@link ComponentDashboardSpec}) and build the dashboard with {@link componentDashboard}.
 */
import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_UID } from './shared/datasources.ts';

/** One time series of a panel. */
export interface PanelQuery {
  /** PromQL. */
  readonly expr: string;
  /** Legend, with `{{label}}` placeholders. */
  readonly legend: string;
}

/** One panel: what it shows, in which unit. */
export interface PanelSpec {
  readonly title: string;
  /** What the panel tells the operator, shown on hover. */
  readonly description: string;
  /** Grafana unit id: `short`, `percentunit`, `bytes`, `reqps`, `s`, ... */
  readonly unit: string;
  readonly queries: readonly PanelQuery[];
}

/** A component's dashboard, by the four golden signals. */
export interface ComponentDashboardSpec {
  /** Dashboard uid: `sightline-<component>`. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Is it up and ready. */
  readonly health: readonly PanelSpec[];
  /** How much work it does. */
  readonly throughput: readonly PanelSpec[];
  /** How much of that work fails. */
  readonly errors: readonly PanelSpec[];
  /** How close it is to a limit (memory, queues, disk). */
  readonly saturation: readonly PanelSpec[];
}

/** Whether Prometheus can scrape each target of `job`. */
export function upPanel(job: string, what: string, legend = '{{instance}}'): PanelSpec {
  return {
    title: 'Up',
    description: `Whether Prometheus can scrape each ${what} target (1) or not (0).`,
    unit: 'short',
    queries: [{ expr: `up{job="${job}"}`, legend }],
  };
}

/** Resident memory of a Go component's processes (client_golang's process collector). */
export function memoryPanel(job: string, what: string, legend = '{{instance}}'): PanelSpec {
  return {
    title: 'Memory',
    description: `Resident memory of each ${what} process; compare with the container's memory limit.`,
    unit: 'bytes',
    queries: [{ expr: `process_resident_memory_bytes{job="${job}"}`, legend }],
  };
}

/**
 * Share of a claim in use, from the kubelet's volume statistics: one claim by name, or with `perPod` the claims
 * of a StatefulSet's pods, `claim` then being a regular expression of their names.
 */
export function volumePanel(claim: string, options: { readonly perPod?: boolean } = {}): PanelSpec {
  const matcher = options.perPod ? '=~' : '=';
  const stat = (metric: string) => `kubelet_volume_stats_${metric}_bytes{job="kubelet", persistentvolumeclaim${matcher}"${claim}"}`;
  return {
    title: 'Volume used',
    description: options.perPod ? `Share of each pod's claim (${claim}) in use.` : `Share of the ${claim} claim in use.`,
    unit: 'percentunit',
    queries: [{ expr: `1 - ${stat('available')} / ${stat('capacity')}`, legend: '{{persistentvolumeclaim}}' }],
  };
}

const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UID.prometheus };

const ROWS = [
  ['health', 'Health'],
  ['throughput', 'Throughput'],
  ['errors', 'Errors'],
  ['saturation', 'Saturation'],
] as const;

function panel(spec: PanelSpec): timeseries.PanelBuilder {
  const builder = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .min(0)
    .span(12)
    .height(8);
  for (const [i, q] of spec.queries.entries()) {
    builder.withTarget(
      new prometheus.DataqueryBuilder()
        .datasource(DATASOURCE)
        .expr(q.expr)
        .legendFormat(q.legend)
        .refId(String.fromCharCode(65 + i)),
    );
  }
  return builder;
}

/** Builds the dashboard of one component: a row per signal, two panels abreast. */
export function componentDashboard(spec: ComponentDashboardSpec): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['sightline', 'self-monitoring'])
    .readonly()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser');
  for (const [signal, title] of ROWS) {
    builder.withRow(new dashboard.RowBuilder(title));
    for (const p of spec[signal]) builder.withPanel(panel(p));
  }
  return builder.build();
}

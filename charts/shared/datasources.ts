import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { ExternalBackend } from './backend.ts';
import type { NetworkTarget } from './network.ts';

/**
 * Grafana datasource UIDs. Correlation links (trace → logs, logs → trace, exemplars → trace, service map)
 * refer to a datasource by UID, so every link is written with these constants: a renamed datasource keeps
 * its UID, and a test resolves every `datasourceUid` in the provisioning against the provisioned UIDs.
 */
export const DATASOURCE_UID = {
  prometheus: 'sightline-prometheus',
  loki: 'sightline-loki',
  tempo: 'sightline-tempo',
  alertmanager: 'sightline-alertmanager',
} as const;

/**
 * One datasource of Grafana's provisioning file, keyed as Grafana expects.
 *
 * Grafana expands `$VAR` and `${VAR}` in provisioning files from its environment, so Grafana's own macros
 * (`${__value.raw}`, `${__trace.traceId}`, `${__tags}`) must be written with `$$` in any string here.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources
 */
export interface GrafanaDataSource {
  /** Display name. */
  readonly name: string;
  /** Stable identifier; links refer to it. One of {@link DATASOURCE_UID}. */
  readonly uid: string;
  /** Plugin id: `prometheus`, `loki`, `tempo`, ... */
  readonly type: string;
  /** URL Grafana's backend queries (always the in-cluster URL of a published endpoint). */
  readonly url: string;
  /** Whether Explore and new panels use it first. @default false */
  readonly isDefault?: boolean;
  /** Plugin-specific settings (correlation links live here). @default - none */
  readonly jsonData?: Readonly<Record<string, unknown>>;
  /** HTTP basic auth to an external backend. @default - none */
  readonly basicAuth?: boolean;
  /** The basic-auth user name. @default - none */
  readonly basicAuthUser?: string;
  /**
   * Secrets Grafana stores encrypted: only ever `$__file{<path>}` references to a mounted Secret, never a value.
   * @default - none
   */
  readonly secureJsonData?: Readonly<Record<string, string>>;
}

/** What a component needs from Grafana to provision its datasource and dashboards. */
export interface GrafanaHub {
  /**
   * Provisions a datasource, and allows Grafana's pods into `endpoint` (the one its URL names), so the
   * provider's network policy admits Grafana's queries.
   *
   * @throws if one with the same uid or name exists, or the hub has already rendered
   */
  addDataSource(dataSource: GrafanaDataSource, endpoint: NetworkTarget): void;
  /**
   * Provisions a datasource querying an external backend at its `queryUrl`, with its tenant and credentials
   * (the Secret mounted into Grafana's pod, read by provisioning from the file), and allows Grafana's egress to it.
   *
   * @throws like {@link addDataSource}
   */
  addExternalDataSource(dataSource: Omit<GrafanaDataSource, 'url'>, backend: ExternalBackend): void;
  /**
   * Provisions a dashboard (its JSON model, e.g. built with the Grafana foundation SDK), read-only in the UI.
   *
   * @throws if it has no uid usable as a name (a DNS label of at most 40 characters), one with the same uid
   *   exists, or the hub has already rendered
   */
  addDashboard(dashboard: Dashboard): void;
}

/**
 * Every container image Sightline renders, pinned to an explicit version.
 *
 * This is the only file in which an image tag appears: upgrading a component is a one-line change here,
 * reviewed against that version's configuration reference (configs are keyed for exactly these versions).
 * Images are fully qualified so that runtimes without a default registry (CRI-O, Podman) pull the same thing.
 */
export const IMAGES = {
  /** @see https://github.com/prometheus/prometheus/releases/tag/v3.14.0 */
  prometheus: 'docker.io/prom/prometheus:v3.14.0',
  /** @see https://github.com/prometheus/alertmanager/releases/tag/v0.35.0 */
  alertmanager: 'docker.io/prom/alertmanager:v0.35.0',
  /** @see https://github.com/grafana/grafana/releases/tag/v13.2.0 */
  grafana: 'docker.io/grafana/grafana:13.2.0',
  /** @see https://github.com/grafana/tempo/releases/tag/v3.0.3 */
  tempo: 'docker.io/grafana/tempo:3.0.3',
  /** @see https://github.com/open-telemetry/opentelemetry-collector-releases/releases/tag/v0.159.0 */
  otelCollector: 'docker.io/otel/opentelemetry-collector-contrib:0.159.0',
  /** @see https://github.com/grafana/loki/releases/tag/v3.7.6 */
  loki: 'docker.io/grafana/loki:3.7.6',
  /**
   * Promtail reached end of life on 2026-03-02; 3.6.11 is the last image built (its code left the Loki
   * repository in 3.7.0). Pinned deliberately until its successor replaces it.
   * @see https://github.com/grafana/loki/releases/tag/v3.6.11
   */
  promtail: 'docker.io/grafana/promtail:3.6.11',
  /** @see https://github.com/G-PORTAL/redfish_exporter/releases/tag/v1.5.1 (published as gportal/redfish_exporter) */
  redfishExporter: 'docker.io/gportal/redfish_exporter:1.5.1',
} as const;

/**
 * Default image of the demo service, built from services/hello-app (no registry publishes it: see the README).
 * `localhost/` makes a missing image fail to pull instead of resolving to someone else's image on Docker Hub.
 */
export const DEMO_IMAGE = { repository: 'localhost/sightline/hello-app', tag: '0.1.0' } as const;

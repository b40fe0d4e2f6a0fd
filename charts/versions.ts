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
  /** @see https://github.com/grafana/grafana/releases/tag/v13.2.0 */
  grafana: 'docker.io/grafana/grafana:13.2.0',
  /** @see https://github.com/grafana/tempo/releases/tag/v3.0.3 */
  tempo: 'docker.io/grafana/tempo:3.0.3',
  /** @see https://github.com/open-telemetry/opentelemetry-collector-releases/releases/tag/v0.159.0 */
  otelCollector: 'docker.io/otel/opentelemetry-collector-contrib:0.159.0',
  /** @see https://github.com/G-PORTAL/redfish_exporter/releases/tag/v1.5.1 (published as gportal/redfish_exporter) */
  redfishExporter: 'docker.io/gportal/redfish_exporter:1.5.1',
} as const;

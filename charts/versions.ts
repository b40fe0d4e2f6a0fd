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
  /**
   * Grafana Alloy, Promtail's successor, for `logs.agent: alloy`. The image's ENTRYPOINT is `/bin/alloy`, its CMD
   * `run /etc/alloy/config.alloy --storage.path=/var/lib/alloy/data` (replaced whole by the container's args).
   * v1.18.1 (tag commit 6012ec4ac6a541ade720777ecec2f2b02b496def) is the newest stable release whose source and
   * reference could be read for this pin; test/reference/alloy-1.18.1/ holds what the config is checked against.
   * @see https://github.com/grafana/alloy/blob/v1.18.1/Dockerfile
   */
  alloy: 'docker.io/grafana/alloy:v1.18.1',
  /** @see https://github.com/G-PORTAL/redfish_exporter/releases/tag/v1.5.1 (published as gportal/redfish_exporter) */
  redfishExporter: 'docker.io/gportal/redfish_exporter:1.5.1',
} as const;

/**
 * Default image of the demo service, built from services/hello-app (no registry publishes it: see the README).
 * `localhost/` makes a missing image fail to pull instead of resolving to someone else's image on Docker Hub.
 */
export const DEMO_IMAGE = { repository: 'localhost/sightline/hello-app', tag: '0.1.0' } as const;

/**
 * What an image runs when a container gives neither `command` nor `args`: its Dockerfile's `ENTRYPOINT` and
 * `CMD`, as read in the upstream source of the pinned version. Kubernetes `command` replaces the ENTRYPOINT and
 * `args` replaces the CMD, so a container on an image without an ENTRYPOINT must set `command`: with `args`
 * alone the runtime would execute the first flag as the program.
 */
export interface ImageProcess {
  /** The image reference, exactly as rendered. */
  readonly image: string;
  /** `ENTRYPOINT`, or `undefined` when the Dockerfile sets none. */
  readonly entrypoint: readonly string[] | undefined;
  /** `CMD`, or `undefined` when the Dockerfile sets none. */
  readonly cmd: readonly string[] | undefined;
  /** The file these were read from: repository, tag and path. */
  readonly source: string;
}

/** {@link ImageProcess} of every pinned image: a new image does not compile without its entry. */
export const IMAGE_PROCESSES = {
  prometheus: {
    image: IMAGES.prometheus,
    entrypoint: ['/bin/prometheus'],
    cmd: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'],
    source: 'prometheus/prometheus v3.14.0 Dockerfile',
  },
  alertmanager: {
    image: IMAGES.alertmanager,
    entrypoint: ['/bin/alertmanager'],
    cmd: ['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager'],
    source: 'prometheus/alertmanager v0.35.0 Dockerfile',
  },
  grafana: {
    image: IMAGES.grafana,
    // run.sh starts grafana-server with the GF_PATHS_* settings; Sightline passes no arguments.
    entrypoint: ['/run.sh'],
    cmd: undefined,
    source: 'grafana/grafana Dockerfile, read at commit 78515af (the repository is too large to fetch at the v13.2.0 tag here)',
  },
  tempo: {
    image: IMAGES.tempo,
    entrypoint: ['/tempo'],
    cmd: undefined,
    source: 'grafana/tempo v3.0.3 cmd/tempo/Dockerfile',
  },
  otelCollector: {
    image: IMAGES.otelCollector,
    entrypoint: ['/otelcol-contrib'],
    cmd: ['--config', '/etc/otelcol-contrib/config.yaml'],
    source: 'open-telemetry/opentelemetry-collector-releases v0.159.0 distributions/otelcol-contrib/Dockerfile',
  },
  loki: {
    image: IMAGES.loki,
    entrypoint: ['/usr/bin/loki'],
    cmd: ['-config.file=/etc/loki/local-config.yaml'],
    source: 'grafana/loki v3.7.6 cmd/loki/Dockerfile',
  },
  promtail: {
    image: IMAGES.promtail,
    entrypoint: ['/usr/bin/promtail'],
    cmd: ['-config.file=/etc/promtail/config.yml'],
    source: 'grafana/loki v3.6.11 clients/cmd/promtail/Dockerfile',
  },
  alloy: {
    image: IMAGES.alloy,
    entrypoint: ['/bin/alloy'],
    cmd: ['run', '/etc/alloy/config.alloy', '--storage.path=/var/lib/alloy/data'],
    source: 'grafana/alloy v1.18.1 Dockerfile',
  },
  redfishExporter: {
    image: IMAGES.redfishExporter,
    // Its base image, gportal/golang, could not be read; whatever ENTRYPOINT it might carry, `command`
    // replaces it, so a container that states its program starts either way.
    entrypoint: undefined,
    cmd: ['/opt/app-root/redfish_exporter'],
    source: 'G-PORTAL/redfish_exporter v1.5.1 Dockerfile',
  },
} as const satisfies { readonly [K in keyof typeof IMAGES]: ImageProcess };

/** {@link ImageProcess} of the demo image (services/hello-app/Dockerfile, on the official Node image). */
export const DEMO_IMAGE_PROCESS: Omit<ImageProcess, 'image'> = {
  // Its own ENTRYPOINT replaces node:24.21.0-trixie-slim's (docker-entrypoint.sh, CMD ["node"]): node runs as
  // PID 1 with the OpenTelemetry preload, which overriding CMD or a pod's args cannot drop.
  entrypoint: ['node', '--import', './services/hello-app/src/register.ts', 'services/hello-app/src/main.ts'],
  cmd: undefined,
  source: 'services/hello-app/Dockerfile (ENTRYPOINT)',
};

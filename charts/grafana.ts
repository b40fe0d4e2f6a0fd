import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { componentDashboard, memoryPanel, upPanel, volumePanel } from './component-dashboard.ts';
import { ConfigFiles } from './shared/config-file.ts';
import { BACKEND_CREDENTIALS_DIR, grafanaDataSourceAuth, mountBackendCredentials, type ExternalBackend } from './shared/backend.ts';
import type { GrafanaDataSource, GrafanaHub } from './shared/datasources.ts';
import { Endpoint } from './shared/endpoint.ts';
import { HubSeal } from './shared/hub.ts';
import type { NetworkTarget } from './shared/network.ts';
import { imageVersion, recommendedLabels, type ComponentIdentity } from './shared/labels.ts';
import { alertingRule, scrapeEndpoint, type MetricsHub } from './shared/scrape.ts';
import {
  addConfigChecksum,
  dataClaim,
  externalSecret,
  hardenedContainer,
  stackDeployment,
  stackService,
  startupProbe,
  type ContainerResourceValues,
} from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { dnsLabel, quantity, resources, secretDataKey, secretKeyRef, singleReplica, startupTimeout } from './shared/fields.ts';

/** Grafana's datasource provisioning file. @see https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources */
export interface DataSourceProvisioning {
  readonly apiVersion: 1;
  /** Deletes provisioned datasources that are no longer in the file, so a removed component leaves no stale one. */
  readonly prune: boolean;
  readonly datasources: ReadonlyArray<GrafanaDataSource & { readonly access: 'proxy'; readonly editable: boolean }>;
}

/**
 * Grafana's dashboard provisioning file: where to find dashboard JSON files and how to treat them.
 *
 * @see https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
 */
export interface DashboardProvisioning {
  readonly apiVersion: 1;
  readonly providers: ReadonlyArray<{
    readonly name: string;
    readonly orgId: number;
    /** Folder in the UI the dashboards are filed under. */
    readonly folder: string;
    readonly type: 'file';
    /** `false`: a dashboard whose file disappears is deleted, so a removed component leaves no stale dashboard. */
    readonly disableDeletion: boolean;
    /** `false`: the files are the source of truth; UI edits must be saved as a copy. */
    readonly allowUiUpdates: boolean;
    readonly options: { readonly path: string; readonly foldersFromFilesStructure: boolean };
  }>;
}

/** Properties of {@link Grafana}. */
export interface GrafanaProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /**
   * Secret created out of band with the admin user name and password. Grafana applies them only when its
   * database is first created; later changes go through Grafana itself (`grafana cli admin reset-admin-password`).
   */
  readonly adminSecret: { readonly name: string; readonly userKey: string; readonly passwordKey: string };
  /**
   * Secret created out of band holding `security.secret_key`, the key Grafana encrypts the secrets in its
   * database with (datasource passwords, contact point tokens). Grafana's built-in default is public.
   */
  readonly secretKeySecret: { readonly name: string; readonly key: string };
  /** How long Grafana may take to start (migrating its database after an upgrade) before its liveness probe counts. */
  readonly startupTimeout: Duration;
  /** Size of the PersistentVolumeClaim at `/var/lib/grafana` (database, plugins). */
  readonly storage: string;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Pods: 1, or 0 to stop Grafana and keep its database. */
  readonly replicas: number;
  /** Requests and limits of the Grafana container. */
  readonly resources: ContainerResourceValues;
  /** Where Grafana contributes its own scrape job. @default - Grafana is not scraped */
  readonly metrics?: MetricsHub;
}

/** Grafana: the UI over every signal, and the hub components provision their datasources through. */
export class Grafana extends Chart implements GrafanaHub {
  /** Port of the UI and HTTP API. */
  public static readonly PORT = 3000;
  /** The image's user (`grafana`). */
  private static readonly USER = 472;
  private static readonly PROVISIONING_DIR = '/etc/grafana/provisioning';
  private static readonly DATA_DIR = '/var/lib/grafana';
  // Outside the data volume and the provisioning folder: each dashboard's ConfigMap is mounted in a folder of
  // its own below this one, which the file provider walks.
  private static readonly DASHBOARDS_DIR = '/etc/grafana/dashboards';
  /** Longest dashboard uid: Grafana's limit, and short enough for `grafana-dashboard-<uid>` as a name. */
  private static readonly MAX_UID_LENGTH = 40;

  /** UI and HTTP API. */
  public readonly endpoint: Endpoint;
  /** The Deployment running Grafana. */
  public readonly deployment: kplus.Deployment;
  /** The ConfigMap holding the datasource provisioning file. */
  public readonly dataSourceConfig: ConfigFiles;
  /** The ConfigMap holding the dashboard provider file. */
  public readonly dashboardProviderConfig: ConfigFiles;

  private readonly seal = new HubSeal('Grafana');
  private readonly dataSources = new Map<string, GrafanaDataSource>();
  private readonly dashboards = new Map<string, ConfigFiles>();
  private readonly container: kplus.Container;
  private readonly componentLabels: Record<string, string>;

  public constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'grafana', component: 'visualization', version: imageVersion(IMAGES.grafana) };
    const labels = recommendedLabels(identity);
    this.componentLabels = labels;

    this.dataSourceConfig = new ConfigFiles(this, 'DataSources', {
      name: 'grafana-datasources',
      labels,
      files: { 'datasources.yaml': () => this.renderDataSources() },
    });
    this.dashboardProviderConfig = new ConfigFiles(this, 'DashboardProviders', {
      name: 'grafana-dashboard-providers',
      labels,
      files: { 'dashboards.yaml': () => this.renderDashboardProviders() },
    });

    const claim = dataClaim(this, { name: 'grafana-data', labels, storage: props.storage, storageClassName: props.storageClassName });

    this.deployment = stackDeployment(this, 'Deployment', {
      identity,
      name: 'grafana',
      replicas: props.replicas,
      user: Grafana.USER,
      persistent: true,
      configChecksum: this.dataSourceConfig.checksum,
    });
    addConfigChecksum(this.deployment, 'dashboard-providers', this.dashboardProviderConfig.checksum);
    const admin = externalSecret(this.deployment, props.adminSecret.name);
    const secretKey = externalSecret(this.deployment, props.secretKeySecret.name);
    const container = this.deployment.addContainer({
      name: 'grafana',
      ...hardenedContainer({ image: IMAGES.grafana, user: Grafana.USER, resources: props.resources }),
      ports: [{ name: 'http', number: Grafana.PORT }],
      envVariables: {
        GF_SECURITY_ADMIN_USER: kplus.EnvValue.fromSecretValue({ secret: admin, key: props.adminSecret.userKey }),
        GF_SECURITY_ADMIN_PASSWORD: kplus.EnvValue.fromSecretValue({ secret: admin, key: props.adminSecret.passwordKey }),
        GF_SECURITY_SECRET_KEY: kplus.EnvValue.fromSecretValue({ secret: secretKey, key: props.secretKeySecret.key }),
        GF_AUTH_ANONYMOUS_ENABLED: kplus.EnvValue.fromValue('false'),
        GF_USERS_ALLOW_SIGN_UP: kplus.EnvValue.fromValue('false'),
        GF_PATHS_PROVISIONING: kplus.EnvValue.fromValue(Grafana.PROVISIONING_DIR),
        GF_PATHS_DATA: kplus.EnvValue.fromValue(Grafana.DATA_DIR),
        // Console only: the root filesystem is read-only and the pod's stdout is what Promtail ships.
        GF_LOG_MODE: kplus.EnvValue.fromValue('console'),
        GF_ANALYTICS_REPORTING_ENABLED: kplus.EnvValue.fromValue('false'),
        GF_ANALYTICS_CHECK_FOR_UPDATES: kplus.EnvValue.fromValue('false'),
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: kplus.EnvValue.fromValue('false'),
      },
      // Grafana serves HTTP only once its database migrations are done, which after an upgrade can take long:
      // the startup probe holds liveness off until then, instead of an initial delay that would be a guess.
      startup: startupProbe('/api/health', Grafana.PORT, props.startupTimeout),
      liveness: kplus.Probe.fromHttpGet('/api/health', {
        port: Grafana.PORT,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 6,
      }),
      readiness: kplus.Probe.fromHttpGet('/api/health', {
        port: Grafana.PORT,
        periodSeconds: Duration.seconds(5),
        timeoutSeconds: Duration.seconds(3),
        failureThreshold: 3,
      }),
    });
    this.container = container;
    container.mount(
      `${Grafana.PROVISIONING_DIR}/datasources`,
      kplus.Volume.fromConfigMap(this, 'DataSourcesVolume', this.dataSourceConfig.configMap, { name: 'datasources' }),
      { readOnly: true },
    );
    container.mount(
      `${Grafana.PROVISIONING_DIR}/dashboards`,
      kplus.Volume.fromConfigMap(this, 'DashboardProvidersVolume', this.dashboardProviderConfig.configMap, { name: 'dashboard-providers' }),
      { readOnly: true },
    );
    container.mount(Grafana.DATA_DIR, kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' }));
    // Grafana unpacks plugins and writes session files below /tmp.
    container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp'));

    const service = stackService(this, 'Service', { name: 'grafana', identity, ports: [{ name: 'http', port: Grafana.PORT }] });
    this.endpoint = Endpoint.fromService(service, Grafana.PORT, { scheme: 'http' });

    if (props.metrics) scrapeEndpoint(props.metrics, 'grafana', this.endpoint);
    this.addDashboard(
      componentDashboard({
        uid: 'sightline-grafana',
        title: 'Grafana',
        description: 'Health, requests, failures and saturation of Grafana itself.',
        health: [upPanel('grafana', 'Grafana')],
        throughput: [
          {
            title: 'Requests',
            description: 'HTTP requests per second, by handler.',
            unit: 'reqps',
            queries: [{ expr: 'sum by (handler) (rate(grafana_http_request_duration_seconds_count{job="grafana"}[5m]))', legend: '{{handler}}' }],
          },
        ],
        errors: [
          {
            title: 'Server errors',
            description: 'Requests answered with a 5xx status per second, by handler.',
            unit: 'reqps',
            queries: [
              {
                expr: 'sum by (handler) (rate(grafana_http_request_duration_seconds_count{job="grafana", status_code=~"5.."}[5m]))',
                legend: '{{handler}}',
              },
            ],
          },
        ],
        saturation: [volumePanel('grafana-data'), memoryPanel('grafana', 'Grafana')],
      }),
    );
    // Stopped on purpose (replicas 0), Grafana is not down.
    if (props.replicas > 0) {
      props.metrics?.addRuleGroup({
        name: 'grafana',
        rules: [
          alertingRule({
            alert: 'GrafanaDown',
            // `up` of the scrape job: Grafana serves /metrics on its UI port, so a failed scrape is a failed UI.
            expr: 'up{job="grafana"} == 0',
            for: '5m',
            severity: 'critical',
            summary: 'Grafana is down',
            description:
              'Grafana has not answered on {{ $labels.instance }} for 5 minutes: nobody can see dashboards, logs or traces, which an incident needs. Check the grafana pod (kubectl get pods, kubectl logs deploy/grafana): a failing database migration, a full volume, a missing grafana-admin Secret (CreateContainerConfigError) or an OOM kill.',
          }),
        ],
      });
    }
  }

  public addDataSource(dataSource: GrafanaDataSource, endpoint: NetworkTarget): void {
    this.provision(dataSource);
    endpoint.allowFrom(this.deployment);
  }

  public addExternalDataSource(dataSource: Omit<GrafanaDataSource, 'url'>, backend: ExternalBackend): void {
    this.seal.assertOpen(`datasource "${dataSource.uid}"`);
    const auth = grafanaDataSourceAuth(backend, mountBackendCredentials(this.deployment, this.container, backend, BACKEND_CREDENTIALS_DIR));
    const { jsonData, ...head } = dataSource;
    this.provision({
      ...head,
      url: backend.queryUrl,
      ...auth.fields,
      jsonData: { ...jsonData, ...auth.jsonData },
      secureJsonData: Object.keys(auth.secureJsonData).length === 0 ? undefined : auth.secureJsonData,
    });
  }

  private provision(dataSource: GrafanaDataSource): void {
    this.seal.assertOpen(`datasource "${dataSource.uid}"`);
    for (const existing of this.dataSources.values()) {
      if (existing.uid === dataSource.uid || existing.name === dataSource.name) {
        throw new Error(`Grafana already has a datasource with uid "${existing.uid}" / name "${existing.name}"`);
      }
    }
    this.dataSources.set(dataSource.uid, dataSource);
  }

  /**
   * Provisions a dashboard in a ConfigMap of its own (kube-prometheus does the same): one large ConfigMap of
   * every dashboard would outgrow the 262,144 bytes `kubectl apply` can record in its last-applied annotation.
   * Its checksum goes on the pod template, so a changed dashboard rolls Grafana like a changed datasource.
   */
  public addDashboard(dashboard: Dashboard): void {
    const uid = dashboard.uid;
    this.seal.assertOpen(`dashboard "${uid ?? dashboard.title}"`);
    if (uid === undefined || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(uid) || uid.length > Grafana.MAX_UID_LENGTH) {
      throw new Error(
        `dashboard "${dashboard.title}" needs a uid of lower-case letters, digits and - (at most ${Grafana.MAX_UID_LENGTH} characters), not ${JSON.stringify(uid)}`,
      );
    }
    if (this.dashboards.has(uid)) {
      throw new Error(`Grafana already has a dashboard with uid "${uid}"`);
    }
    const files = new ConfigFiles(this, `Dashboard-${uid}`, {
      name: `grafana-dashboard-${uid}`,
      labels: this.componentLabels,
      files: { [`${uid}.json`]: `${JSON.stringify(dashboard, null, 2)}\n` },
    });
    this.dashboards.set(uid, files);
    this.container.mount(
      `${Grafana.DASHBOARDS_DIR}/${uid}`,
      kplus.Volume.fromConfigMap(this, `Dashboard-${uid}-Volume`, files.configMap, { name: `dashboard-${uid}` }),
      { readOnly: true },
    );
    addConfigChecksum(this.deployment, `dashboard-${uid}`, files.checksum);
  }

  private renderDashboardProviders(): DashboardProvisioning {
    this.seal.seal('dashboards.yaml');
    return {
      apiVersion: 1,
      // Never empty: Grafana provisions its own dashboard, so the folder the provider scans always exists.
      providers: [
        {
          name: 'sightline',
          orgId: 1,
          folder: 'Sightline',
          type: 'file',
          disableDeletion: false,
          allowUiUpdates: false,
          options: { path: Grafana.DASHBOARDS_DIR, foldersFromFilesStructure: false },
        },
      ],
    };
  }

  private renderDataSources(): DataSourceProvisioning {
    this.seal.seal('datasources.yaml');
    return {
      apiVersion: 1,
      prune: true,
      datasources: [...this.dataSources.values()].map((ds) => ({ ...ds, access: 'proxy' as const, editable: false })),
    };
  }
}

/** The `grafana` section of the values. */
export const grafanaValues = z
  .strictObject({
    adminSecret: z
      .strictObject({
        name: dnsLabel().default('grafana-admin').describe('Secret created out of band holding the admin credentials (see README).'),
        userKey: secretDataKey().default('admin-user'),
        passwordKey: secretDataKey().default('admin-password'),
      })
      .prefault({}),
    secretKeySecret: secretKeyRef({ name: 'grafana-secret-key', key: 'secret-key' }).describe(
      'Secret created out of band holding `security.secret_key`, which encrypts the secrets Grafana stores in its database (see README).',
    ),
    startupTimeout: startupTimeout('10m', 'Grafana migrates its database (long after an upgrade of a large database)'),
    storage: quantity().default('1Gi').describe('Size of the PersistentVolumeClaim mounted at /var/lib/grafana.'),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }),
  })
  .prefault({});

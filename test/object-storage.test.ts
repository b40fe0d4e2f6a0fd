/**
 * Loki and Tempo on object storage, and Loki's HA monolithic mode: what the rendered configs and objects say
 * for each kind of store, and the values refused.
 */
import { describe, expect, it } from 'vitest';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import type { ValuesInput } from '../charts/values.ts';
import { checkKeys } from './config-keys.ts';
import { promql } from './metric-sources.ts';
import { allowed, connects } from './network-policy.ts';
import { container, podSpec, render, valueProblems, type Rendered } from './support.ts';

const S3 = {
  type: 's3',
  endpoint: 'minio.example.com:9000',
  bucket: 'logs-eu',
  region: 'eu-west-1',
  forcePathStyle: true,
  credentials: { type: 'secret', name: 'store-keys' },
} as const;
const GCS = { type: 'gcs', bucket: 'sightline-logs', credentials: { type: 'secret', name: 'gcs-key' } } as const;
const AZURE = { type: 'azure', accountName: 'sightlinelogs', container: 'logs', credentials: { type: 'secret', name: 'azure-key' } } as const;
const IDENTITY = {
  type: 'workloadIdentity',
  serviceAccountAnnotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000' },
} as const;

const loki = (values: ValuesInput['loki']) => {
  const r = render({ loki: values });
  const set = r.find('StatefulSet', 'loki');
  return { r, set, pod: podSpec(set), main: container(set, 'loki'), config: r.configFile('loki-config', 'loki.yaml') };
};
const tempo = (values: ValuesInput['tempo']) => {
  const r = render({ tempo: values });
  const set = r.find('StatefulSet', 'tempo');
  return { r, set, main: container(set, 'tempo'), config: r.configFile('tempo-config', 'tempo.yaml') };
};
const env = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e]));
const podOf = (set: any) => ({ namespace: set.metadata.namespace, labels: set.spec.template.metadata.labels });

/** Every value of every rendered object, as text: where a credential would show if one leaked. */
const everything = (r: Rendered) => JSON.stringify(r.objects);

describe('Loki on an S3-compatible object store', () => {
  const { r, set, main, pod, config } = loki({ objectStore: S3 });

  it('keeps chunks and index in the bucket from its first period on, keyed as Loki 3.7.6 reads them', () => {
    expect(config.schema_config.configs).toEqual([
      { from: '2024-04-01', store: 'tsdb', object_store: 's3', schema: 'v13', index: { prefix: 'index_', period: '24h' } },
    ]);
    expect(config.storage_config).toEqual({
      aws: { endpoint: 'minio.example.com:9000', bucketnames: 'logs-eu', region: 'eu-west-1', s3forcepathstyle: true, insecure: false },
    });
    // The common section takes one backend only: no filesystem next to the bucket.
    expect(config.common.storage).toBeUndefined();
    expect(config.compactor.delete_request_store).toBe('s3');
    expect(checkKeys('loki', config).unknown).toEqual([]);
  });

  it('reads the keys from the out-of-band Secret in the environment variables the AWS SDK reads, and renders no credential', () => {
    const vars = env(main);
    expect(vars.AWS_ACCESS_KEY_ID.valueFrom.secretKeyRef).toEqual({ name: 'store-keys', key: 'AWS_ACCESS_KEY_ID' });
    expect(vars.AWS_SECRET_ACCESS_KEY.valueFrom.secretKeyRef).toEqual({ name: 'store-keys', key: 'AWS_SECRET_ACCESS_KEY' });
    expect(set.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('store-keys');
    expect(r.all('Secret')).toEqual([]);
    expect(JSON.stringify(config)).not.toMatch(/access_key|secret/);
    for (const e of main.env) expect(e.value, e.name).toBeUndefined();
  });

  it('keeps the claim for what must stay local (WAL, index cache, compactor), with no config expansion it does not need', () => {
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'loki-data' } });
    expect(config.common.path_prefix).toBe('/var/loki');
    expect(main.args).not.toContain('-config.expand-env=true');
    expect(r.find('ConfigMap', 'loki-config').data['loki.yaml']).not.toContain('${');
  });

  it('may reach the store on its port when egress is restricted', () => {
    const restricted = render({ loki: { objectStore: S3 }, networkPolicy: { egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } } });
    const policy = restricted.find('NetworkPolicy', 'loki-egress');
    expect(policy.spec.egress).toContainEqual(expect.objectContaining({ ports: [{ port: 9000, protocol: 'TCP' }] }));
  });

  it('moves to the bucket from `since` on, keeping the filesystem period and its volume readable before it', () => {
    const moved = loki({ objectStore: { ...S3, since: '2027-01-15' } }).config;
    expect(moved.schema_config.configs.map((p: any) => [p.from, p.object_store])).toEqual([
      ['2024-04-01', 'filesystem'],
      ['2027-01-15', 's3'],
    ]);
    // The first period is exactly today's: rewriting it would leave its chunks unreadable.
    expect(moved.schema_config.configs[0]).toEqual(render().configFile('loki-config', 'loki.yaml').schema_config.configs[0]);
    expect(moved.common.storage.filesystem.chunks_directory).toBe('/var/loki/chunks');
    expect(moved.compactor.delete_request_store).toBe('s3');
    expect(checkKeys('loki', moved).unknown).toEqual([]);
  });
});

describe('Loki on Cloud Storage and Azure Blob Storage', () => {
  it('reads a GCS key file mounted from the Secret through GOOGLE_APPLICATION_CREDENTIALS', () => {
    const { set, main, pod, config } = loki({ objectStore: GCS });

    expect(config.storage_config).toEqual({ gcs: { bucket_name: 'sightline-logs' } });
    expect(config.schema_config.configs[0].object_store).toBe('gcs');
    expect(checkKeys('loki', config).unknown).toEqual([]);
    const path = env(main).GOOGLE_APPLICATION_CREDENTIALS.value as string;
    const mount = main.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    expect(mount.readOnly).toBe(true);
    expect(pod.volumes.find((v: any) => v.name === mount.name).secret).toMatchObject({ secretName: 'gcs-key', defaultMode: 0o440 });
    expect(path.endsWith('/key.json')).toBe(true);
    expect(set.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('gcs-key');
  });

  it('expands the Azure account key into its config from the Secret, with the expansion flag on', () => {
    const { r, main, config } = loki({ objectStore: AZURE });

    expect(config.storage_config).toEqual({ azure: { account_name: 'sightlinelogs', container_name: 'logs', account_key: '${AZURE_STORAGE_KEY}' } });
    expect(main.args).toContain('-config.expand-env=true');
    expect(env(main).AZURE_STORAGE_KEY.valueFrom.secretKeyRef).toEqual({ name: 'azure-key', key: 'AZURE_STORAGE_KEY' });
    expect(checkKeys('loki', config).unknown).toEqual([]);
    expect(r.all('Secret')).toEqual([]);
  });

  it('authenticates with Azure Workload Identity: a federated token, an annotated ServiceAccount without a mounted token, the webhook label', () => {
    const { r, set, pod, main, config } = loki({ objectStore: { ...AZURE, credentials: IDENTITY } });

    expect(config.storage_config.azure).toEqual({ account_name: 'sightlinelogs', container_name: 'logs', use_federated_token: true });
    expect(main.args).not.toContain('-config.expand-env=true');
    const account = r.find('ServiceAccount', pod.serviceAccountName);
    expect(account.metadata.annotations).toMatchObject(IDENTITY.serviceAccountAnnotations);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(set.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(set.spec.selector.matchLabels['azure.workload.identity/use']).toBeUndefined();
    expect(main.env ?? []).toEqual([]);
  });
});

describe('Loki HA monolithic', () => {
  const { r, set, pod, main, config } = loki({ replicas: 3, objectStore: S3 });
  const headless = r.find('Service', 'loki-memberlist');

  it('forms a memberlist ring over a headless Service that publishes every replica, ready or not', () => {
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(headless.spec.selector).toEqual(set.spec.selector.matchLabels);
    expect(headless.spec.ports.map((p: any) => [p.name, p.port, p.protocol])).toEqual([
      ['memberlist', 7946, 'TCP'],
      ['grpc', 9095, 'TCP'],
    ]);
    expect(config.common.ring.kvstore.store).toBe('memberlist');
    expect(config.memberlist.join_members).toEqual([`dns+${r.stack.loki!.memberlistEndpoint!.hostPort}`]);
    expect(r.stack.loki!.memberlistEndpoint!.hostPort).toBe('loki-memberlist.sightline.svc.cluster.local:7946');
    expect(config.memberlist.cluster_label).toBe('sightline/loki');
    expect(main.ports.map((p: any) => p.containerPort)).toEqual(expect.arrayContaining([7946, 9095]));
    expect(checkKeys('loki', config).unknown).toEqual([]);
  });

  it('replicates every stream to 3 replicas, each registered under its own pod IP, expanded from the environment', () => {
    expect(config.common.replication_factor).toBe(3);
    expect(config.common.instance_addr).toBe('${POD_IP}');
    expect(env(main).POD_IP.valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(main.args).toContain('-config.expand-env=true');
  });

  it('gives each replica a claim of its own for its WAL and index cache, and renders no shared claim', () => {
    expect(set.spec.replicas).toBe(3);
    expect(set.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.accessModes, t.spec.resources.requests.storage])).toEqual([
      ['data', ['ReadWriteOnce'], '10Gi'],
    ]);
    expect(main.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/loki' });
    expect(pod.volumes.some((v: any) => v.persistentVolumeClaim)).toBe(false);
    expect(r.all('PersistentVolumeClaim').filter((c) => c.metadata.name.startsWith('loki'))).toEqual([]);
    expect(set.spec.podManagementPolicy).toBe('Parallel');
  });

  it('is scraped pod by pod, not through the Service where replicas would answer in turn', () => {
    const job = r.configFile('prometheus-config', 'prometheus.yml').scrape_configs.find((j: any) => j.job_name === 'loki');
    expect(job.static_configs).toBeUndefined();
    expect(job.kubernetes_sd_configs[0]).toMatchObject({ role: 'pod', namespaces: { names: ['sightline'] } });
    const [{ role, label }] = job.kubernetes_sd_configs[0].selectors;
    expect(role).toBe('pod');
    expect(Object.fromEntries(label.split(',').map((kv: string) => kv.split('=')))).toEqual(set.spec.selector.matchLabels);
    const port = job.relabel_configs.find((c: any) => c.action === 'keep').regex;
    expect(main.ports.find((p: any) => p.name === port).containerPort).toBe(3100);
  });

  it("shows every replica's claim on its dashboard", () => {
    const dashboard = JSON.parse(r.find('ConfigMap', 'grafana-dashboard-sightline-loki').data['sightline-loki.json']);
    const [query] = dashboard.panels.find((p: any) => p.title === 'Volume used').targets.map((t: any) => t.expr as string);
    expect(promql(query).errors).toEqual([]);
    const pattern = new RegExp(`^${/persistentvolumeclaim=~"([^"]+)"/.exec(query)![1]}$`);
    for (const ordinal of [0, 1, 2]) expect(`${set.spec.volumeClaimTemplates[0].metadata.name}-loki-${ordinal}`).toMatch(pattern);
    expect('loki-data').not.toMatch(pattern);
  });

  it('lets a drain take one replica at a time, and spreads the replicas over nodes and zones', () => {
    const budget = r.all('PodDisruptionBudget').find((b) => b.metadata.name === 'loki')!;
    expect(budget.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: set.spec.selector.matchLabels } });
    expect(pod.topologySpreadConstraints.map((c: any) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of pod.topologySpreadConstraints) expect(c.labelSelector.matchLabels).toEqual(set.spec.selector.matchLabels);
  });

  it('lets the replicas gossip and call each other over gRPC, with egress restricted too, and nobody else', () => {
    const restricted = render({
      loki: { replicas: 3, objectStore: S3 },
      networkPolicy: { egress: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } } },
    });
    const policies = restricted.all('NetworkPolicy');
    const replica = podOf(restricted.find('StatefulSet', 'loki'));
    for (const port of [7946, 9095]) {
      expect(connects(policies, replica, replica, { port, protocol: 'TCP' }), String(port)).toBe(true);
      expect(allowed(policies, podOf(restricted.find('Deployment', 'grafana')), replica, { port, protocol: 'TCP' }), String(port)).toBe(false);
    }
  });

  it('serves pushes and queries through the one loki Service, which selects every replica', () => {
    const service = r.find('Service', 'loki');
    expect(service.spec.selector).toEqual(set.spec.selector.matchLabels);
    expect(service.spec.clusterIP).toBeUndefined();
    expect(r.stack.loki!.pushEndpoint.url()).toBe('http://loki.sightline.svc.cluster.local:3100/loki/api/v1/push');
  });

  it('stays a single process with an in-memory ring and no memberlist by default', () => {
    const single = loki({});
    expect(single.config.common).toMatchObject({ instance_addr: '127.0.0.1', replication_factor: 1, ring: { kvstore: { store: 'inmemory' } } });
    expect(single.config.memberlist).toBeUndefined();
    expect(single.r.all('Service').map((s) => s.metadata.name)).not.toContain('loki-memberlist');
    expect(single.r.all('PodDisruptionBudget').map((b) => b.metadata.name)).not.toContain('loki');
    expect(single.set.spec.podManagementPolicy).toBe('OrderedReady');
    expect(single.main.args).toEqual(['-config.file=/etc/loki/loki.yaml']);
  });
});

describe('Tempo on an object store', () => {
  it('writes blocks to an S3 bucket, keeps its WAL on the volume, and reads the keys from the Secret', () => {
    const { r, set, main, config } = tempo({ objectStore: { ...S3, bucket: 'traces-eu', insecure: true } });

    expect(config.storage.trace).toEqual({
      backend: 's3',
      wal: { path: '/var/tempo/wal' },
      s3: { endpoint: 'minio.example.com:9000', bucket: 'traces-eu', region: 'eu-west-1', forcepathstyle: true, insecure: true },
    });
    expect(checkKeys('tempo', config).unknown).toEqual([]);
    expect(env(main).AWS_SECRET_ACCESS_KEY.valueFrom.secretKeyRef).toEqual({ name: 'store-keys', key: 'AWS_SECRET_ACCESS_KEY' });
    expect(set.spec.template.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toBe('store-keys');
    expect(r.find('PersistentVolumeClaim', 'tempo-data')).toBeDefined();
    expect(main.args).not.toContain('-config.expand-env=true');
    expect(everything(r)).not.toMatch(/access_key|secret_key/);
  });

  it('writes blocks to GCS and Azure with the keys Tempo 3.0.3 reads, credentials from the environment only', () => {
    const gcs = tempo({ objectStore: GCS });
    expect(gcs.config.storage.trace).toMatchObject({ backend: 'gcs', gcs: { bucket_name: 'sightline-logs' } });
    expect(gcs.config.storage.trace.local).toBeUndefined();
    expect(env(gcs.main).GOOGLE_APPLICATION_CREDENTIALS.value).toMatch(/\/gcs-key\/key\.json$/);

    const azure = tempo({ objectStore: AZURE });
    expect(azure.config.storage.trace).toMatchObject({ backend: 'azure', azure: { storage_account_name: 'sightlinelogs', container_name: 'logs' } });
    // Tempo's Azure backend reads AZURE_STORAGE_KEY itself (tempodb/backend/azure): nothing to expand.
    expect(env(azure.main).AZURE_STORAGE_KEY.valueFrom.secretKeyRef.name).toBe('azure-key');
    expect(azure.main.args).not.toContain('-config.expand-env=true');

    const federated = tempo({ objectStore: { ...AZURE, credentials: IDENTITY } });
    expect(federated.config.storage.trace.azure.use_federated_token).toBe(true);
    for (const c of [gcs.config, azure.config, federated.config]) expect(checkKeys('tempo', c).unknown).toEqual([]);
  });

  it('keeps local storage by default', () => {
    expect(tempo({}).config.storage.trace).toEqual({ backend: 'local', wal: { path: '/var/tempo/wal' }, local: { path: '/var/tempo/blocks' } });
  });
});

describe('object storage values', () => {
  const lokiStore = (objectStore: unknown, more: object = {}) => valueProblems({ loki: { objectStore, ...more } });

  it('fails when loki.replicas is more than 1 on the filesystem', () => {
    expect(valueProblems({ loki: { replicas: 3 } })).toEqual([
      'loki.replicas: 3 is more than 1 with objectStore filesystem: replicas share their chunks and index only through an object store (set loki.objectStore to s3, gcs or azure)',
    ]);
  });

  it('fails when loki.replicas is 2, which the replication factor 3 leaves without a quorum once one is down', () => {
    expect(lokiStore(S3, { replicas: 2 })[0]).toMatch(
      /^loki\.replicas: 2 is less than 3, the replication factor: a write needs a quorum of 2 replicas/,
    );
  });

  it('fails when loki.replicas is more than 1 while a filesystem period is still kept', () => {
    expect(lokiStore({ ...S3, since: '2027-01-15' }, { replicas: 3 })[0]).toMatch(
      /^loki\.replicas: 3 is more than 1 while loki\.objectStore\.since \(2027-01-15\) keeps a filesystem period/,
    );
  });

  it('fails when tempo.replicas is more than 1, pointing at the external backend path', () => {
    const [problem] = valueProblems({ tempo: { replicas: 2 } });
    expect(problem).toMatch(/^tempo\.replicas: 2 is more than 1: Tempo runs monolithic as one replica/);
    expect(problem).toContain('external backend');
  });

  it.each([
    ['bucket', 'Logs', 'is not an S3 bucket name (3 to 63'],
    ['bucket', 'ab', 'is not an S3 bucket name (3 to 63'],
    ['bucket', 'my..logs', 'is not an S3 bucket name: no two adjacent dots'],
    ['bucket', '192.168.1.10', 'is not an S3 bucket name: it may not be formatted as an IP address'],
    ['endpoint', 'https://s3.amazonaws.com', 'is a URL, not host[:port]: drop the scheme'],
    ['endpoint', 's3.amazonaws.com/bucket', 'is not host[:port]'],
    ['endpoint', 'minio:99999', 'is not host[:port]'],
    ['endpoint', 'fe80::1:9000', 'is not host[:port]'],
    ['region', 'EU West', 'is not a region like eu-west-1'],
  ])('fails when loki.objectStore.%s is %j', (field, value, message) => {
    const problems = lokiStore({ ...S3, [field]: value });
    expect(problems.length, problems.join('\n')).toBe(1);
    expect(problems[0]).toMatch(new RegExp(`^loki\\.objectStore\\.${field}: ${literal(JSON.stringify(value))} ${literal(message)}`));
  });

  it('accepts an S3 endpoint as an IPv4 or bracketed IPv6 address with a port', () => {
    for (const endpoint of ['10.0.0.5:9000', '[fd00::5]:9000', 's3.eu-west-1.amazonaws.com']) {
      expect(render({ loki: { objectStore: { ...S3, endpoint } } }).configFile('loki-config', 'loki.yaml').storage_config.aws.endpoint).toBe(
        endpoint,
      );
    }
  });

  it.each([
    [
      'a google bucket',
      { ...GCS, bucket: 'my-google-logs' },
      'loki.objectStore.bucket: "my-google-logs" is not a Cloud Storage bucket name: it may not start with "goog" or contain "google"',
    ],
    ['a dotted part too long', { ...GCS, bucket: `a.${'b'.repeat(64)}` }, 'is not a Cloud Storage bucket name: at most 63 characters'],
    [
      'two hyphens in an Azure container',
      { ...AZURE, container: 'my--logs' },
      'loki.objectStore.container: "my--logs" is not an Azure container name',
    ],
    [
      'an upper-case Azure account',
      { ...AZURE, accountName: 'SightLine' },
      'loki.objectStore.accountName: "SightLine" is not an Azure storage account name',
    ],
    [
      'a Secret name that is no DNS label',
      { ...S3, credentials: { type: 'secret', name: 'Store_Keys' } },
      'loki.objectStore.credentials.name: "Store_Keys" is not a DNS label',
    ],
    [
      'a Secret key Kubernetes refuses',
      { ...S3, credentials: { type: 'secret', name: 'k', accessKeyIdKey: 'a/b' } },
      'loki.objectStore.credentials.accessKeyIdKey: "a/b" is not a Secret key',
    ],
    [
      'an annotation key that is none',
      { ...S3, credentials: { type: 'workloadIdentity', serviceAccountAnnotations: { 'not a key': 'x' } } },
      'loki.objectStore.credentials.serviceAccountAnnotations',
    ],
    ['since in another format', { ...S3, since: '15.01.2027' }, 'loki.objectStore.since: "15.01.2027" is not a date like 2027-01-15 (YYYY-MM-DD)'],
    ['since on a day the calendar lacks', { ...S3, since: '2027-02-30' }, 'loki.objectStore.since: "2027-02-30" is not a date of the calendar'],
    [
      'since before the first period',
      { ...S3, since: '2024-01-01' },
      'loki.objectStore.since: "2024-01-01" is not after 2024-04-01, the start of the filesystem period it follows',
    ],
    [
      'an unknown store',
      { type: 'swift' },
      'loki.objectStore.type: {"type":"swift"} is of type "swift", not one of "filesystem", "s3", "gcs", "azure"',
    ],
    ['unknown credentials', { ...S3, credentials: { type: 'keys' } }, 'is of type "keys", not one of "secret", "workloadIdentity"'],
  ])('fails with %s', (_, objectStore, message) => {
    const problems = lokiStore(objectStore);
    expect(problems.length, problems.join('\n')).toBe(1);
    expect(problems[0]).toContain(message);
  });

  it('fails when since is given for the filesystem, which has no later store to move to', () => {
    expect(lokiStore({ type: 'filesystem', since: '2027-01-15' })[0]).toMatch(/^loki\.objectStore\.since: unknown key/);
  });

  it('fails when Tempo is given a since, which only Loki has', () => {
    expect(valueProblems({ tempo: { objectStore: { ...S3, since: '2027-01-15' } } })[0]).toMatch(/^tempo\.objectStore\.since: unknown key/);
  });
});

/** A string as a literal regular expression. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

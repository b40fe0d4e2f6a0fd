/**
 * Where Loki and Tempo keep their data: on the workload's volume (`filesystem`, the default), or in an object
 * store: S3 or an S3-compatible one (MinIO, Ceph RGW), Google Cloud Storage, or Azure Blob Storage, each
 * through the client the pinned Loki and Tempo already build in. One model for both; each chart spells it in
 * its own config keys (`storage_config.aws` in Loki, `storage.trace.s3` in Tempo).
 *
 * Credentials never reach the rendered output. They come either from a Secret created out of band, handed to
 * the container in the environment variables (or the file) the store's client reads itself, or from the
 * platform's workload identity (IRSA, GKE Workload Identity, Azure Workload Identity) through a ServiceAccount
 * rendered with the annotations the platform asks for.
 */
import { isIP } from 'node:net';
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { dnsLabel, k8sLabelKey, secretDataKey } from './fields.ts';
import { allowEgress } from './network.ts';
import { HOST_NAME } from './units.ts';
import { externalSecret } from './workload.ts';

/** Credentials from a Secret created out of band (each store names the data keys holding its parts). */
export interface SecretCredentials {
  readonly type: 'secret';
  /** Name of the Secret, in the stack's namespace. */
  readonly name: string;
}

/**
 * The platform's workload identity: no Secret; the pod runs under a ServiceAccount of its own, annotated as
 * the platform requires (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
 * `azure.workload.identity/client-id`).
 */
export interface WorkloadIdentity {
  readonly type: 'workloadIdentity';
  /** Annotations of the ServiceAccount. */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
}

/** An S3 or S3-compatible bucket. */
export interface S3Store {
  readonly type: 's3';
  /** `host[:port]` of the S3 API, without scheme (e.g. `s3.eu-west-1.amazonaws.com`, `minio.storage:9000`). */
  readonly endpoint: string;
  readonly bucket: string;
  /** Region of the bucket: AWS needs it. @default - none (MinIO and Ceph RGW accept any) */
  readonly region?: string;
  /** Address the bucket as `endpoint/bucket` instead of `bucket.endpoint` (MinIO and Ceph RGW usually need it). */
  readonly forcePathStyle: boolean;
  /** Plain HTTP instead of HTTPS. */
  readonly insecure: boolean;
  /** Keys `accessKeyIdKey` and `secretAccessKeyKey` of the Secret, or workload identity (IRSA). */
  readonly credentials: (SecretCredentials & { readonly accessKeyIdKey: string; readonly secretAccessKeyKey: string }) | WorkloadIdentity;
}

/** A Google Cloud Storage bucket. */
export interface GcsStore {
  readonly type: 'gcs';
  readonly bucket: string;
  /** The service account key file (JSON) under `key` of the Secret, or workload identity. */
  readonly credentials: (SecretCredentials & { readonly key: string }) | WorkloadIdentity;
}

/** An Azure Blob Storage container. */
export interface AzureStore {
  readonly type: 'azure';
  /** The storage account. */
  readonly accountName: string;
  /** The blob container in it. */
  readonly container: string;
  /** The account key under `accountKeyKey` of the Secret, or Azure Workload Identity (a federated token). */
  readonly credentials: (SecretCredentials & { readonly accountKeyKey: string }) | WorkloadIdentity;
}

/** Where a store keeps its data. */
export type ObjectStore = { readonly type: 'filesystem' } | S3Store | GcsStore | AzureStore;
/** An object store, not the volume. */
export type RemoteStore = Exclude<ObjectStore, { readonly type: 'filesystem' }>;

/**
 * Environment variables the clients read themselves, as upstream documents them: the AWS SDK (Loki) and
 * minio-go (Tempo) both take `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from their default credential chains,
 * Google's clients the key file named by `GOOGLE_APPLICATION_CREDENTIALS`, Tempo's Azure client
 * `AZURE_STORAGE_KEY` (Loki's takes it from its config, where `${AZURE_STORAGE_KEY}` is expanded).
 */
export const STORE_ENV = {
  awsAccessKeyId: 'AWS_ACCESS_KEY_ID',
  awsSecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  googleCredentials: 'GOOGLE_APPLICATION_CREDENTIALS',
  azureStorageKey: 'AZURE_STORAGE_KEY',
} as const;

/** The pod label Azure Workload Identity's webhook looks for before it injects the federated token. */
const AZURE_WORKLOAD_IDENTITY_LABEL = 'azure.workload.identity/use';

/** Whether `store` uses the platform's workload identity, and so needs a ServiceAccount of its own. */
function usesWorkloadIdentity(store: ObjectStore): store is RemoteStore & { readonly credentials: WorkloadIdentity } {
  return store.type !== 'filesystem' && store.credentials.type === 'workloadIdentity';
}

/**
 * The ServiceAccount a workload on workload identity runs under, annotated as the platform requires; its
 * token is not mounted (the IRSA and Azure webhooks project a token of their own, GKE answers on the metadata
 * server). `undefined` for any other store: the workload needs no account.
 */
export function storeServiceAccount(
  scope: Construct,
  store: ObjectStore,
  props: { readonly name: string; readonly labels: Readonly<Record<string, string>> },
): kplus.ServiceAccount | undefined {
  if (!usesWorkloadIdentity(store)) return undefined;
  return new kplus.ServiceAccount(scope, 'ServiceAccount', {
    metadata: { name: props.name, labels: { ...props.labels }, annotations: { ...store.credentials.serviceAccountAnnotations } },
    automountToken: false,
  });
}

/**
 * Gives `container` what the client of `store` needs to reach it: the credentials from the out-of-band Secret
 * (as environment variables, or the GCS key file mounted read-only under `secretsDir`), recorded on the pod
 * template; the Azure Workload Identity label; and egress to the store's port (its addresses are not known here).
 */
export function connectObjectStore(workload: kplus.StatefulSet, container: kplus.Container, store: ObjectStore, secretsDir: string): void {
  if (store.type === 'filesystem') return;
  allowEgress(workload, { anywhere: true }, [{ port: storePort(store), protocol: 'TCP' }]);
  if (store.credentials.type === 'workloadIdentity') {
    if (store.type === 'azure') workload.podMetadata.addLabel(AZURE_WORKLOAD_IDENTITY_LABEL, 'true');
    // The account is there for the platform's identity, not for the Kubernetes API: its token stays unmounted
    // (the stack's workloads mount it whenever they name an account).
    ApiObject.of(workload).addJsonPatch(JsonPatch.replace('/spec/template/spec/automountServiceAccountToken', false));
    return;
  }
  const secret = externalSecret(workload, store.credentials.name);
  const fromSecret = (key: string) => kplus.EnvValue.fromSecretValue({ secret, key });
  if (store.type === 's3' && store.credentials.type === 'secret') {
    container.env.addVariable(STORE_ENV.awsAccessKeyId, fromSecret(store.credentials.accessKeyIdKey));
    container.env.addVariable(STORE_ENV.awsSecretAccessKey, fromSecret(store.credentials.secretAccessKeyKey));
  } else if (store.type === 'azure' && store.credentials.type === 'secret') {
    container.env.addVariable(STORE_ENV.azureStorageKey, fromSecret(store.credentials.accountKeyKey));
  } else if (store.type === 'gcs' && store.credentials.type === 'secret') {
    const dir = `${secretsDir}/${store.credentials.name}`;
    // Readable by the pod's group (fsGroup) only: the file is a credential.
    const volume = kplus.Volume.fromSecret(workload, 'StoreSecret', secret, { name: 'object-store-credentials', defaultMode: 0o440 });
    container.mount(dir, volume, { readOnly: true });
    container.env.addVariable(STORE_ENV.googleCredentials, kplus.EnvValue.fromValue(`${dir}/${store.credentials.key}`));
  }
}

/** The TCP port the store's API listens on: the endpoint's, or HTTPS/HTTP's. */
function storePort(store: RemoteStore): number {
  if (store.type === 's3') {
    const port = /:(\d+)$/.exec(store.endpoint)?.[1];
    if (port !== undefined) return Number(port);
    return store.insecure ? 80 : 443;
  }
  return 443;
}

// ---------------------------------------------------------------------------------------------------------
// Values.
// ---------------------------------------------------------------------------------------------------------

const notIp = (v: string) => isIP(v) === 0;

/**
 * S3 bucket naming rules (general purpose buckets), which MinIO and Ceph RGW apply as well.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
const s3Bucket = () =>
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: 'is not an S3 bucket name (3 to 63 lower-case letters, digits, . and -, starting and ending with a letter or digit)',
      abort: true,
    })
    .refine((v) => !/\.\.|\.-|-\./.test(v), { error: 'is not an S3 bucket name: no two adjacent dots, and no dot next to a -', abort: true })
    .refine(notIp, { error: 'is not an S3 bucket name: it may not be formatted as an IP address' });

/**
 * Cloud Storage bucket naming rules: dotted names up to 222 characters with parts of at most 63.
 * @see https://cloud.google.com/storage/docs/buckets#naming
 */
const gcsBucket = () =>
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, {
      error: 'is not a Cloud Storage bucket name (3 to 222 lower-case letters, digits, -, _ and ., starting and ending with a letter or digit)',
      abort: true,
    })
    .refine((v) => (v.includes('.') ? v.split('.').every((part) => part.length >= 1 && part.length <= 63) : v.length <= 63), {
      error: 'is not a Cloud Storage bucket name: at most 63 characters, or dot-separated parts of 1 to 63 characters each',
      abort: true,
    })
    .refine(notIp, { error: 'is not a Cloud Storage bucket name: it may not be formatted as an IP address', abort: true })
    .refine((v) => !v.startsWith('goog') && !v.includes('google'), {
      error: 'is not a Cloud Storage bucket name: it may not start with "goog" or contain "google"',
    });

/**
 * Azure Blob container naming rules.
 * @see https://learn.microsoft.com/en-us/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
 */
const azureContainer = () =>
  z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, {
    error: 'is not an Azure container name (3 to 63 lower-case letters, digits and -, starting and ending with a letter or digit, no --)',
  });

/** Azure storage account names: 3 to 24 lower-case letters and digits. */
const azureAccount = () =>
  z.string().regex(/^[a-z0-9]{3,24}$/, { error: 'is not an Azure storage account name (3 to 24 lower-case letters and digits)' });

/**
 * `host[:port]` without scheme or path, the form both clients take: Loki's AWS client prefixes the scheme
 * itself (from `insecure`), and minio-go (Tempo) refuses an endpoint with one.
 */
const s3Endpoint = () =>
  z
    .string()
    .refine((v) => !v.includes('://'), { error: 'is a URL, not host[:port]: drop the scheme (insecure: true for plain HTTP)', abort: true })
    .refine(
      (v) => {
        const match = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?$/.exec(v);
        if (!match) return false;
        const [, host, port] = match;
        const hostOk = host!.startsWith('[') ? isIP(host!.slice(1, -1)) === 6 : isIP(host!) === 4 || HOST_NAME.test(host!);
        return hostOk && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
      },
      { error: 'is not host[:port] (a DNS name, an IPv4 address or a bracketed IPv6 address, and a port from 1 to 65535)' },
    );

const region = () =>
  z.string().regex(/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/, { error: 'is not a region like eu-west-1 (lower-case letters, digits and -)' });

/** The message of a discriminated union given an unknown `type`: the type received and the ones allowed. */
const unknownType = (types: readonly string[]) => (issue: { readonly input?: unknown }) =>
  `is of type ${JSON.stringify((issue.input as { type?: unknown } | undefined)?.type)}, not one of ${types.map((t) => JSON.stringify(t)).join(', ')}`;

/** Credentials: a Secret created out of band, with the given data keys, or workload identity. */
const credentialsValues = <K extends Record<string, string>>(keys: K, what: string) =>
  z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({
          type: z.literal('secret'),
          name: dnsLabel().describe(`Secret holding ${what}, created out of band in the stack's namespace.`),
          ...(Object.fromEntries(
            Object.entries(keys).map(([field, fallback]) => [
              field,
              secretDataKey().default(fallback).describe(`Key of the Secret's data holding it.`),
            ]),
          ) as { [F in keyof K]: z.ZodDefault<ReturnType<typeof secretDataKey>> }),
        }),
        z.strictObject({
          type: z.literal('workloadIdentity'),
          serviceAccountAnnotations: z
            .record(k8sLabelKey(), z.string())
            .default({})
            .describe(
              'Annotations of the ServiceAccount the pod runs under, e.g. eks.amazonaws.com/role-arn (IRSA), iam.gke.io/gcp-service-account, azure.workload.identity/client-id.',
            ),
        }),
      ],
      { error: unknownType(['secret', 'workloadIdentity']) },
    )
    .describe(
      `How the pod authenticates: secret (${what} from a Secret created out of band) or workloadIdentity (IRSA, GKE or Azure Workload Identity).`,
    );

/**
 * The `objectStore` field of a store's values.
 *
 * @param extra fields every object store (not `filesystem`) takes on top, for one component (Loki's `since`)
 */
export const objectStoreValues = <E extends z.ZodRawShape>(extra: E) =>
  z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('filesystem') }),
        z.strictObject({
          type: z.literal('s3'),
          endpoint: s3Endpoint().describe('host[:port] of the S3 API, without scheme: s3.eu-west-1.amazonaws.com, minio.storage.svc:9000.'),
          bucket: s3Bucket().describe('The bucket, created beforehand.'),
          region: region().optional().describe('Region of the bucket (AWS needs it; MinIO and Ceph RGW accept any).'),
          forcePathStyle: z.boolean().default(false).describe('Path-style addressing (endpoint/bucket), which MinIO and Ceph RGW usually need.'),
          insecure: z.boolean().default(false).describe('Plain HTTP instead of HTTPS (a store inside the cluster without TLS).'),
          credentials: credentialsValues(
            { accessKeyIdKey: STORE_ENV.awsAccessKeyId, secretAccessKeyKey: STORE_ENV.awsSecretAccessKey },
            'the access key ID and secret access key',
          ),
          ...extra,
        }),
        z.strictObject({
          type: z.literal('gcs'),
          bucket: gcsBucket().describe('The bucket, created beforehand.'),
          credentials: credentialsValues({ key: 'key.json' }, 'the service account key file (JSON)'),
          ...extra,
        }),
        z.strictObject({
          type: z.literal('azure'),
          accountName: azureAccount().describe('The storage account.'),
          container: azureContainer().describe('The blob container, created beforehand.'),
          credentials: credentialsValues({ accountKeyKey: STORE_ENV.azureStorageKey }, 'the storage account key'),
          ...extra,
        }),
      ],
      { error: unknownType(['filesystem', 's3', 'gcs', 'azure']) },
    )
    .default({ type: 'filesystem' });

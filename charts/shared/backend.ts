/**
 * Backends the stack does not run: a metrics store (Mimir, or any Prometheus-compatible remote-write and query
 * API), a Loki or a Tempo in microservices mode, run by someone else. One model for the three: where to write,
 * where to query, the tenant, and how to authenticate, with every credential read from a Secret created out of
 * band (never rendered into dist/). Each client (Prometheus, Promtail, Alloy, the collector, Grafana) spells
 * the same facts in its own config; the serializers for the shapes several of them share live here.
 */
import * as kplus from 'cdk8s-plus-28';
import * as z from 'zod';
import { dnsLabel, secretDataKey } from './fields.ts';
import { allowEgress } from './network.ts';
import { externalSecret } from './workload.ts';

/**
 * Where every client mounts the Secrets of external backends, one folder per Secret: one folder for all clients,
 * so that a Secret's files have the same path in every pod that reads them.
 */
export const BACKEND_CREDENTIALS_DIR = '/etc/sightline/backends';

/** The header Mimir, Loki and Tempo read the tenant from (when their `auth_enabled`/multitenancy is on). */
export const TENANT_HEADER = 'X-Scope-OrgID';

/** How a client authenticates to an external backend. The secret part is always read from a Secret. */
export type BackendAuth =
  | { readonly type: 'none' }
  /** HTTP basic auth: the user name as given, the password from `secretName`/`passwordKey`. */
  | { readonly type: 'basic'; readonly username: string; readonly secretName: string; readonly passwordKey: string }
  /** `Authorization: Bearer <token>`, the token from `secretName`/`tokenKey`. */
  | { readonly type: 'bearer'; readonly secretName: string; readonly tokenKey: string };

/** A backend of one signal that the stack writes to and Grafana queries, outside the stack. */
export interface ExternalBackend {
  /** Where clients write (e.g. Mimir's `.../api/v1/push`, Loki's `.../loki/api/v1/push`, an OTLP base URL). */
  readonly writeUrl: string;
  /** The query API base Grafana's datasource uses (e.g. Mimir's `.../prometheus`, Loki's or Tempo's root). */
  readonly queryUrl: string;
  /** The tenant sent as `X-Scope-OrgID` on every write and query. @default - no tenant header */
  readonly tenant?: string;
  /** How to authenticate. */
  readonly auth: BackendAuth;
}

/**
 * Tenant IDs as Mimir, Loki and Tempo accept them: at most 150 characters out of letters, digits and
 * `! - _ . * ' ( )`, and neither `.` nor `..`.
 *
 * @see https://grafana.com/docs/mimir/latest/configure/about-tenant-ids/
 */
const TENANT_ID = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/** An http(s) URL with a host, no credentials, query or fragment: those belong in `auth`, or nowhere. */
const backendUrl = (example: string) =>
  z.string().refine(
    (text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '' && !url.username && !url.password && !url.search && !url.hash;
    },
    { error: `is not an http(s) URL without credentials, query or fragment, like ${example}` },
  );

/** The `auth` field of an external backend. */
const backendAuthValues = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('basic'),
      username: z
        .string()
        .regex(/^[^:\s]{1,256}$/, { error: 'is not a user name for HTTP basic auth (1 to 256 characters, no colon and no space)' })
        .describe('User name for HTTP basic auth (with Mimir, Loki and Tempo behind a gateway, often the tenant).'),
      secretName: dnsLabel().describe('Secret holding the password, created out of band in the namespace of each client.'),
      passwordKey: secretDataKey().default('password').describe('Key of the password in that Secret.'),
    }),
    z.strictObject({
      type: z.literal('bearer'),
      secretName: dnsLabel().describe('Secret holding the token, created out of band in the namespace of each client.'),
      tokenKey: secretDataKey().default('token').describe('Key of the token in that Secret.'),
    }),
  ])
  .default({ type: 'none' })
  .describe('How clients authenticate: none, basic (user name + password from a Secret) or bearer (token from a Secret).');

/**
 * The values of an external backend for one signal.
 *
 * @param examples a write and a query URL of that kind of backend, for the messages and the schema
 */
export const externalBackendValues = (examples: { readonly write: string; readonly query: string }) =>
  z.strictObject({
    writeUrl: backendUrl(examples.write).describe(`Where clients write, e.g. ${examples.write}.`),
    queryUrl: backendUrl(examples.query).describe(`The query API base Grafana uses, e.g. ${examples.query}.`),
    tenant: z
      .string()
      .regex(TENANT_ID, { error: "is not a tenant ID (1 to 150 letters, digits and ! - _ . * ' ( ))", abort: true })
      .refine((t) => t !== '.' && t !== '..', { error: 'is not a tenant ID: "." and ".." are refused' })
      .optional()
      .describe('Tenant sent as X-Scope-OrgID on every write and query. Default: no header (a single-tenant backend).'),
    auth: backendAuthValues,
  });

/** Where a client finds the credential file of a backend, once {@link mountBackendCredentials} mounted it. */
export interface BackendCredentialFiles {
  /** The password file, for `basic`. */
  readonly passwordFile?: string;
  /** The token file, for `bearer`. */
  readonly tokenFile?: string;
}

/**
 * Mounts the Secret holding `backend`'s credential into `container` under `dir/<secret>` (read-only, readable by
 * the pod's group only), records it as created out of band, and allows the workload's egress to anywhere on
 * the URL's port (the backend's addresses are not known here). Returns the file paths the config names.
 */
export function mountBackendCredentials(
  workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet,
  container: kplus.Container,
  backend: ExternalBackend,
  dir: string,
): BackendCredentialFiles {
  for (const url of new Set([backend.writeUrl, backend.queryUrl])) {
    const parsed = new URL(url);
    const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    allowEgress(workload, { anywhere: true }, [{ port, protocol: 'TCP' }]);
  }
  const { auth } = backend;
  if (auth.type === 'none') return {};
  const folder = `${dir}/${auth.secretName}`;
  // One volume per Secret: two backends sharing a Secret share the mount.
  if (!container.mounts.some((m) => m.path === folder)) {
    const secret = externalSecret(workload, auth.secretName);
    const volume = kplus.Volume.fromSecret(workload, `BackendSecret-${auth.secretName}`, secret, {
      name: `backend-${auth.secretName}`,
      defaultMode: 0o440,
    });
    container.mount(folder, volume, { readOnly: true });
  }
  return auth.type === 'basic' ? { passwordFile: `${folder}/${auth.passwordKey}` } : { tokenFile: `${folder}/${auth.tokenKey}` };
}

/**
 * The authentication and tenant of an HTTP client config as the Prometheus ecosystem spells it
 * (prometheus/common `HTTPClientConfig`: Prometheus's `remote_write`, Promtail's `clients`): `basic_auth` with
 * a password file, or `authorization` with a credentials file, and the tenant header.
 */
export function prometheusClientAuth(backend: ExternalBackend, files: BackendCredentialFiles): Record<string, unknown> {
  const { auth } = backend;
  return {
    ...(auth.type === 'basic' && { basic_auth: { username: auth.username, password_file: files.passwordFile } }),
    ...(auth.type === 'bearer' && { authorization: { type: 'Bearer', credentials_file: files.tokenFile } }),
    ...(backend.tenant !== undefined && { headers: { [TENANT_HEADER]: backend.tenant } }),
  };
}

/**
 * The authentication and tenant of a Grafana datasource pointing at `backend`: top-level fields, `jsonData` and
 * `secureJsonData` to merge into the datasource. Secrets are read by Grafana's provisioning from the mounted
 * file (`$__file{...}`), so the provisioned file names a path, never a credential.
 */
export function grafanaDataSourceAuth(
  backend: ExternalBackend,
  files: BackendCredentialFiles,
): { readonly fields: Record<string, unknown>; readonly jsonData: Record<string, unknown>; readonly secureJsonData: Record<string, string> } {
  const headers: [string, string][] = [];
  if (backend.tenant !== undefined) headers.push([TENANT_HEADER, backend.tenant]);
  if (backend.auth.type === 'bearer') headers.push(['Authorization', `Bearer $__file{${files.tokenFile}}`]);
  const jsonData: Record<string, unknown> = {};
  const secureJsonData: Record<string, string> = {};
  headers.forEach(([name, value], i) => {
    jsonData[`httpHeaderName${i + 1}`] = name;
    secureJsonData[`httpHeaderValue${i + 1}`] = value;
  });
  const { auth } = backend;
  if (auth.type === 'basic') secureJsonData.basicAuthPassword = `$__file{${files.passwordFile}}`;
  return {
    fields: auth.type === 'basic' ? { basicAuth: true, basicAuthUser: auth.username } : {},
    jsonData,
    secureJsonData,
  };
}

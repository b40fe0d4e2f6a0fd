/**
 * Helpers of the component tier (`npm run test:components`): finding the binaries `npm run components` built,
 * starting them on loopback ports and stopping every one of them, and a throwaway Kubernetes API server.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import * as YAML from 'yaml';
import { componentPath, componentsCache } from '../../scripts/components.ts';
import type { K8sObject } from '../support.ts';

/** Upper bound of every wait: generous for a loaded two-core CI machine, bounded so a hang fails the test. */
export const WAIT_TIMEOUT_MS = 90_000;

/**
 * `describe` when every binary is built. When one is missing, a run with `CI` set gets one failing test naming
 * what to build; elsewhere the block is skipped with one line saying why.
 */
export function describeWithComponents(title: string, binaries: readonly string[], body: (bin: (binary: string) => string) => void): void {
  const missing = binaries.filter((binary) => !existsSync(componentPath(binary)));
  if (missing.length === 0) {
    describe(title, () => body((binary) => componentPath(binary)));
    return;
  }
  const message = `${missing.join(', ')} not built in ${componentsCache()} (run npm run components)`;
  if (process.env['CI']) {
    describe(title, () => {
      it('has the component binaries it runs', () => {
        throw new Error(`${message}: CI must build them before npm run test:components`);
      });
    });
    return;
  }
  console.warn(`${title}: skipped, ${message}.`);
  describe.skip(title, () => {
    it(message, () => {});
  });
}

/** A free TCP port on 127.0.0.1 (the kernel's choice; released before the caller binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A process started by a test; its output is kept for the failure message. */
export interface Started {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Fails (with its output) when the process has already exited. */
  assertRunning(): void;
}

const running = new Set<ChildProcess>();
// Also when a worker ends without reaching afterAll (a crash, a timeout), no started binary outlives it.
process.once('exit', () => stopAll());

/** Starts a binary at low priority, on a clean environment plus `env`. */
export function start(binary: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Started {
  const child = spawn('nice', ['-n', '5', binary, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? tmpdir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => {
    // The last 200 kB is plenty to say why something failed.
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    child,
    output: () => output,
    assertRunning() {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${basename(binary)} exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-5000)}`);
      }
    },
  };
}

/** Kills every process this worker started and waits until they are gone. */
export async function stopAll(): Promise<void> {
  const exits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        // A process that ignores SIGTERM for 10 s is killed.
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  );
  await Promise.all(exits);
}

/** GET that resolves undefined instead of throwing while a server is still starting. */
export async function getJson(url: string): Promise<any> {
  const response = await fetch(url).catch(() => undefined);
  if (response === undefined || !response.ok) return undefined;
  return response.json();
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes: etcd + kube-apiserver, and kubectl against them
// ---------------------------------------------------------------------------------------------------------

export const KUBERNETES_BINARIES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

/** A throwaway control plane: one etcd, one kube-apiserver, a kubeconfig for both kubectl and clients. */
export interface Cluster {
  readonly kubeconfig: string;
  readonly server: string;
  /** Runs kubectl against the cluster (stdin optional). */
  kubectl(args: readonly string[], stdin?: string): SpawnSyncReturns<string>;
  /** Stops both processes and deletes their data. */
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver on free loopback ports and waits until /readyz answers. Authorization is
 * AlwaysAllow (nothing here tests RBAC); admission is the default set, so PodSecurity enforces the namespaces'
 * labels as in a real cluster.
 */
export async function startCluster(bin: (binary: string) => string): Promise<Cluster> {
  const work = mkdtempSync(join(tmpdir(), 'sightline-cluster-'));
  const etcdClient = await freePort();
  const etcdPeer = await freePort();
  const etcd = start(bin('etcd'), [
    '--name=test',
    `--data-dir=${join(work, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
    '--log-level=warn',
    '--unsafe-no-fsync',
  ]);
  await waitFor('etcd to be healthy', async () => {
    etcd.assertRunning();
    return (await getJson(`http://127.0.0.1:${etcdClient}/health`))?.health === 'true' ? true : undefined;
  }).catch((error) => {
    etcd.child.kill('SIGTERM');
    throw error;
  });

  // The service-account token signer kube-apiserver insists on; no token is ever used here.
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(work, 'sa.key'), key);
  // kube-apiserver turns anonymous requests off under AlwaysAllow, so clients present a static token.
  const token = randomBytes(16).toString('hex');
  writeFileSync(join(work, 'tokens.csv'), `${token},test-admin,test-admin,system:masters\n`);
  const port = await freePort();
  const apiserver = start(bin('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(work, 'certs')}`,
    '--authorization-mode=AlwaysAllow',
    `--token-auth-file=${join(work, 'tokens.csv')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(work, 'sa.key')}`,
    `--service-account-signing-key-file=${join(work, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ]);
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'test-admin', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'test-admin' } }],
      'current-context': 'test',
    }),
  );
  const kubectl = (args: readonly string[], stdin?: string) =>
    spawnSync(bin('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], {
      encoding: 'utf8',
      input: stdin,
      env: { PATH: process.env['PATH'] ?? '', HOME: work },
      maxBuffer: 256 * 1024 * 1024,
    });
  const stop = async () => {
    for (const process of [apiserver, etcd]) {
      if (process.child.exitCode !== null || process.child.signalCode !== null) continue;
      const exited = new Promise((resolve) => process.child.once('exit', resolve));
      process.child.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await waitFor('kube-apiserver to be ready', () => {
      apiserver.assertRunning();
      return kubectl(['get', '--raw=/readyz']).stdout.trim() === 'ok' ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { kubeconfig, server, kubectl, stop };
}

/**
 * A cluster started before the tests of the enclosing `describe` (then `setUp` on it) and stopped after them;
 * call the returned function inside a test to get it.
 */
export function clusterForBlock(bin: (binary: string) => string, setUp: (cluster: Cluster) => unknown = () => {}): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(bin);
    await setUp(cluster);
  }, 3 * WAIT_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  }, WAIT_TIMEOUT_MS);
  return () =>
    cluster ??
    (() => {
      throw new Error('the cluster did not start (see the beforeAll error)');
    })();
}

/** A fresh folder under the OS temp folder, and the path it gives to a file (creating its parent folders). */
export function tempTree(prefix: string): { root: string; file(path: string, content: string): string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    root,
    file(path, content) {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      return target;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Prometheus: the rendered config laid out as its pod mounts it
// ---------------------------------------------------------------------------------------------------------

/** The Prometheus Deployment of a rendered folder, its files written where its pod mounts them. */
export interface PrometheusLayout {
  /** The temp folder standing in for the container's root. */
  readonly root: string;
  /** `--config.file`, under `root`. */
  readonly configFile: string;
  /** The rule files the config names, under `root`. */
  readonly ruleFiles: readonly string[];
  /** The parsed prometheus.yml, file paths remapped under `root`. */
  readonly config: any;
  /** Writes `config` (after the caller changed it) back to `configFile`. */
  save(): void;
  remove(): void;
}

/**
 * Writes every ConfigMap the Prometheus container mounts into a temp folder at its mount path, and rewrites the
 * config's absolute paths (rule files, file discovery) to point there, as the pod would see them.
 */
export function layOutPrometheus(objects: readonly K8sObject[]): PrometheusLayout {
  const deployment = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === 'prometheus');
  if (deployment === undefined) throw new Error('no Deployment or StatefulSet prometheus in the folder');
  const pod = deployment['spec'].template.spec;
  const container = pod.containers.find((c: any) => c.name === 'prometheus');
  const tree = tempTree('sightline-prometheus-');
  for (const mount of container.volumeMounts as Array<{ name: string; mountPath: string }>) {
    const source = pod.volumes.find((v: any) => v.name === mount.name)?.configMap?.name;
    if (source === undefined) continue;
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === source && o.metadata.namespace === deployment.metadata.namespace,
    );
    if (configMap === undefined) throw new Error(`volume ${mount.name}: ConfigMap ${source} is not in the folder`);
    for (const [file, content] of Object.entries(configMap['data'] as Record<string, string>)) tree.file(join(mount.mountPath, file), content);
  }
  const configArg = (container.args as string[]).find((a) => a.startsWith('--config.file='))!;
  const configFile = join(tree.root, configArg.slice('--config.file='.length));
  const config = YAML.parse(readFileSync(configFile, 'utf8'));
  const inRoot = (path: string) => join(tree.root, path);
  config.rule_files = (config.rule_files ?? []).map(inRoot);
  for (const job of config.scrape_configs ?? []) {
    for (const sd of job.file_sd_configs ?? []) sd.files = sd.files.map(inRoot);
    // The service-account token the kubelet job sends: Kubernetes mounts it into the pod; here a stand-in.
    const token = job.authorization?.credentials_file;
    if (token !== undefined) {
      tree.file(token, 'token-of-the-test\n');
      job.authorization.credentials_file = inRoot(token);
    }
  }
  const save = () => writeFileSync(configFile, YAML.stringify(config));
  save();
  return { root: tree.root, configFile, ruleFiles: config.rule_files, config, save, remove: tree.remove };
}

/** The folders the tier checks: dist/ and every rendered/<env>/ (not the Argo CD ones). */
export { stackFolders } from '../delivery.ts';

/** A Prometheus started by a test, and its HTTP API. */
export interface RunningPrometheus {
  readonly url: string;
  readonly layout: PrometheusLayout;
  /** The result of an instant query (`data.result`), or undefined while it fails. */
  query(promql: string): Promise<any[] | undefined>;
}

/**
 * Starts Prometheus on the rendered config of `objects`: the pod's files under a temp folder, every in-cluster
 * host (`<service>.<namespace>.svc.cluster.local`) on loopback, Prometheus' own address at the port it listens
 * on here, and Kubernetes discovery pointed at `cluster`. The command-line flags are the container's, so a
 * flag the release does not know fails the start; so is its environment, the pod's name (downward API) being
 * `podName`.
 */
export async function startPrometheus(
  bin: (binary: string) => string,
  objects: readonly K8sObject[],
  cluster: Cluster,
  podName = 'prometheus-0',
): Promise<RunningPrometheus> {
  const layout = layOutPrometheus(objects);
  const port = await freePort();
  const config = layout.config;
  for (const job of config.scrape_configs ?? []) {
    for (const sd of job.kubernetes_sd_configs ?? []) Object.assign(sd, { api_server: cluster.server, tls_config: { insecure_skip_verify: true } });
  }
  Object.assign(config, remapClusterHosts(config, { 'prometheus.sightline.svc.cluster.local:9090': `127.0.0.1:${port}` }));
  layout.save();

  const deployment = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === 'prometheus')!;
  const args = (deployment['spec'].template.spec.containers[0].args as string[]).map((arg) => {
    if (arg.startsWith('--config.file=')) return `--config.file=${layout.configFile}`;
    if (arg.startsWith('--storage.tsdb.path=')) return `--storage.tsdb.path=${join(layout.root, arg.slice('--storage.tsdb.path='.length))}`;
    return arg;
  });
  const env = Object.fromEntries(
    ((deployment['spec'].template.spec.containers[0].env ?? []) as Array<{ name: string; value?: string; valueFrom?: any }>).map((e) => {
      if (e.value !== undefined) return [e.name, e.value];
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') return [e.name, podName];
      throw new Error(`environment variable ${e.name} of the prometheus container is not modelled here`);
    }),
  );
  const prometheus = start(bin('prometheus'), [...args, `--web.listen-address=127.0.0.1:${port}`], { env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Prometheus to be ready', async () => {
    prometheus.assertRunning();
    const response = await fetch(`${url}/-/ready`).catch(() => undefined);
    return response?.status === 200 ? true : undefined;
  });
  return {
    url,
    layout,
    async query(promql) {
      return (await getJson(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`))?.data?.result;
    },
  };
}

/**
 * Replaces every in-cluster `host:port` in a config (any string value) by its stand-in in `overrides`, or by
 * `127.0.0.1:port`, where nothing listens unless the test starts it.
 */
export function remapClusterHosts<T>(config: T, overrides: Readonly<Record<string, string>>): T {
  return JSON.parse(
    JSON.stringify(config).replace(
      /\b[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:(\d+)/g,
      (hostPort, port) => overrides[hostPort] ?? `127.0.0.1:${port}`,
    ),
  );
}

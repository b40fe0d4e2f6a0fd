/**
 * `npm run components`: builds the pinned upstream binaries that `npm run test:components` runs against the
 * rendered output, from source through the Go module proxy, into a cache folder outside the clone:
 *
 *   ${SIGHTLINE_COMPONENTS_CACHE:-~/.cache/sightline-components}/<name>-<version>/<binary>
 *
 * A folder that exists is complete (each is built in a staging folder and renamed into place), so a second
 * run builds nothing. The Go modules that pin what is built live in `tools/components/` (see its README).
 * Needs Go 1.26 on the PATH (or in /usr/local/go/bin).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

const TOOLS = resolve(import.meta.dirname, '..', 'tools', 'components');

/** One cache folder: binaries built from one Go module of `tools/components/`. */
export interface Component {
  /** First half of the cache folder's name. */
  readonly name: string;
  /** Second half of the cache folder's name; the script checks that `pin` requires exactly it. */
  readonly version: string;
  /** Folder of `tools/components/` holding the go.mod. */
  readonly module: string;
  /** The `require` line of that go.mod that fixes `version`. */
  readonly pin: string;
  /** Binary name → Go package built into it. */
  readonly binaries: Readonly<Record<string, string>>;
  /** `-X` settings so that `--version` names the release instead of a development build. */
  readonly stamp?: Readonly<Record<string, string>>;
  /**
   * Files a module embeds (`go:embed`) that its published zip lacks, because its release process generates
   * them: module path → file → content. The module is then built from a copy with these files added.
   */
  readonly generatedFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const PROMETHEUS_VERSION_STAMP = (version: string) => ({ 'github.com/prometheus/common/version.Version': version });

export const COMPONENTS: readonly Component[] = [
  {
    name: 'kubernetes',
    version: '1.36.3',
    module: 'kubernetes',
    pin: 'k8s.io/kubernetes v1.36.3',
    binaries: { 'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver', kubectl: 'k8s.io/kubernetes/cmd/kubectl' },
    stamp: {
      'k8s.io/component-base/version.gitVersion': 'v1.36.3',
      'k8s.io/component-base/version.gitMajor': '1',
      'k8s.io/component-base/version.gitMinor': '36',
      'k8s.io/client-go/pkg/version.gitVersion': 'v1.36.3',
      'k8s.io/client-go/pkg/version.gitMajor': '1',
      'k8s.io/client-go/pkg/version.gitMinor': '36',
    },
  },
  {
    // The etcd server release Kubernetes 1.36.3's go.mod pins.
    name: 'etcd',
    version: '3.6.8',
    module: 'kubernetes',
    pin: 'go.etcd.io/etcd/server/v3 v3.6.8',
    binaries: { etcd: './etcd' },
  },
  {
    name: 'prometheus',
    version: '3.14.0',
    module: 'prometheus',
    pin: 'github.com/prometheus/prometheus v0.314.0',
    binaries: { prometheus: 'github.com/prometheus/prometheus/cmd/prometheus', promtool: 'github.com/prometheus/prometheus/cmd/promtool' },
    stamp: PROMETHEUS_VERSION_STAMP('3.14.0'),
  },
  {
    name: 'alertmanager',
    version: '0.35.0',
    module: 'alertmanager',
    pin: 'github.com/prometheus/alertmanager v0.35.0',
    binaries: { alertmanager: 'github.com/prometheus/alertmanager/cmd/alertmanager', amtool: 'github.com/prometheus/alertmanager/cmd/amtool' },
    stamp: PROMETHEUS_VERSION_STAMP('0.35.0'),
    // The web UI is built by npm in Alertmanager's release process; the API and amtool need none of it.
    generatedFiles: {
      'github.com/prometheus/alertmanager': Object.fromEntries(
        ['elm', 'mantine'].map((ui) => [
          `ui/app/dist/${ui}/index.html`,
          '<!doctype html><title>Alertmanager</title><p>No web UI: this Alertmanager is built from its Go module, which ships none.</p>\n',
        ]),
      ),
    },
  },
];

/** The collector: built by the collector builder (pinned in tools/components/otelcol/go.mod) from its manifest. */
const COLLECTOR_MANIFEST = join(TOOLS, 'otelcol', 'builder-config.yaml');
const COLLECTOR_BINARY = 'otelcol-sightline';

/**
 * The collector's cache folder: its release plus a digest of the builder manifest, so that adding a component
 * to the manifest builds a new collector instead of reusing one without it.
 */
function collectorFolder(): string {
  const digest = createHash('sha256').update(readFileSync(COLLECTOR_MANIFEST)).digest('hex').slice(0, 12);
  return `otelcol-sightline-0.159.0-${digest}`;
}

/** The cache folder; `SIGHTLINE_COMPONENTS_CACHE` moves it. */
export function componentsCache(): string {
  return resolve(process.env['SIGHTLINE_COMPONENTS_CACHE'] ?? join(homedir(), '.cache', 'sightline-components'));
}

/** Where a binary is once built (whether or not it exists). */
export function componentPath(binary: string): string {
  if (binary === COLLECTOR_BINARY) return join(componentsCache(), collectorFolder(), binary);
  const component = COMPONENTS.find((c) => binary in c.binaries);
  if (component === undefined)
    throw new Error(
      `${binary}: not a component binary; known: ${[...COMPONENTS.flatMap((c) => Object.keys(c.binaries)), COLLECTOR_BINARY].join(', ')}`,
    );
  return join(componentsCache(), `${component.name}-${component.version}`, binary);
}

// ---------------------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------------------

/**
 * Compiler flags of every build: no optimization and no inlining. These binaries only judge rendered files in
 * tests, where what costs is compiling them from nothing (kube-apiserver alone is about 2,000 packages), not
 * their speed at run time. Measured on etcd from an empty build cache: a quarter less compiler CPU time (206 s
 * against 266 s), for a binary a quarter larger; see tools/components/README.md.
 */
const GCFLAGS = 'all=-N -l';

/** Go from the PATH, or from the default install location. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: [process.env['PATH'] ?? '', '/usr/local/go/bin'].join(delimiter),
    // Never download another toolchain; a too-old Go fails with go.mod's `go` line instead.
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-buildvcs=false',
    // Static binaries without a C compiler in the build, as the upstream releases are built.
    CGO_ENABLED: '0',
  };
}

/** Runs a command at low priority (the tests share the machine), streaming its output; throws on failure. */
function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync('nice', ['-n', '10', command, ...args], { cwd, env: goEnv(), stdio: 'inherit' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${result.error?.message ?? `exit code ${result.status}`}`);
}

/** Builds into a staging folder next to `folder` and renames it into place, so a folder that exists is whole. */
function buildInto(folder: string, build: (staging: string) => void): void {
  mkdirSync(componentsCache(), { recursive: true });
  const staging = mkdtempSync(`${folder}.building-`);
  try {
    build(staging);
    renameSync(staging, folder);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function seconds(since: bigint): string {
  return `${Math.round(Number(process.hrtime.bigint() - since) / 1e9)} s`;
}

function buildComponent(component: Component): void {
  const cwd = join(TOOLS, component.module);
  const goMod = readFileSync(join(cwd, 'go.mod'), 'utf8');
  if (
    !goMod.split('\n').some(
      (line) =>
        line
          .trim()
          .replace(/^require\s+/, '')
          .replace(/\s+\/\/.*$/, '') === component.pin,
    )
  ) {
    throw new Error(
      `tools/components/${component.module}/go.mod: does not require ${component.pin}; ${component.name} ${component.version} must match it`,
    );
  }
  // No symbol table or DWARF (-s -w): smaller binaries and a shorter link, the slowest single step of a build.
  const ldflags = ['-s', '-w', ...Object.entries(component.stamp ?? {}).map(([key, value]) => `-X=${key}=${value}`)].join(' ');
  buildInto(join(componentsCache(), `${component.name}-${component.version}`), (staging) => {
    const modfile = component.generatedFiles === undefined ? [] : [`-modfile=${withGeneratedFiles(component.generatedFiles, cwd, staging)}`];
    const started = process.hrtime.bigint();
    // All binaries of the component in one invocation (each named after its package's last element), so that
    // Go schedules every package of all of them on every core, instead of building one binary after another.
    const bin = join(staging, 'bin');
    run(
      'go',
      ['build', '-trimpath', ...modfile, `-gcflags=${GCFLAGS}`, `-ldflags=${ldflags}`, '-o', `${bin}/`, ...Object.values(component.binaries)],
      cwd,
    );
    for (const [binary, pkg] of Object.entries(component.binaries)) {
      if (!existsSync(join(bin, binary))) throw new Error(`go build ${pkg} wrote no ${binary} into ${bin}: name the binary after its package`);
      renameSync(join(bin, binary), join(staging, binary));
    }
    console.log(`components: built ${Object.keys(component.binaries).join(', ')} ${component.version} in ${seconds(started)}`);
    for (const leftover of ['bin', 'src']) rmSync(join(staging, leftover), { recursive: true, force: true });
  });
}

/**
 * Copies each module out of the module cache into `staging/src/`, adds the generated files, and writes a copy
 * of the go.mod (and go.sum) that replaces the module by that copy; returns the go.mod for `go build -modfile`.
 * The module cache itself is read-only, and `go build -overlay` may not replace files in it.
 */
function withGeneratedFiles(generated: NonNullable<Component['generatedFiles']>, cwd: string, staging: string): string {
  const replaces = Object.entries(generated).map(([module, files], i) => {
    // `go mod download` rather than `go list -m`, whose Dir is empty while the module cache lacks the module
    // (on a fresh machine, before anything built it).
    const download = spawnSync('go', ['mod', 'download', '-json', module], { cwd, env: goEnv(), encoding: 'utf8' });
    const dir = download.status === 0 ? (JSON.parse(download.stdout) as { Dir?: string }).Dir : undefined;
    if (dir === undefined || dir === '') throw new Error(`go mod download ${module}: ${download.stderr}${download.stdout}`);
    const copy = join(staging, 'src', String(i));
    cpSync(dir, copy, { recursive: true, mode: 0 });
    spawnSync('chmod', ['-R', 'u+w', copy]);
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      writeFileSync(join(copy, file), content);
    }
    return `replace ${module} => ${copy}\n`;
  });
  const goMod = join(staging, 'src', 'go.mod');
  writeFileSync(goMod, readFileSync(join(cwd, 'go.mod'), 'utf8') + replaces.join(''));
  copyFileSync(join(cwd, 'go.sum'), join(staging, 'src', 'go.sum'));
  return goMod;
}

function buildCollector(): void {
  const cwd = join(TOOLS, 'otelcol');
  buildInto(join(componentsCache(), collectorFolder()), (staging) => {
    const started = process.hrtime.bigint();
    const builder = join(staging, 'ocb');
    run('go', ['build', '-trimpath', '-o', builder, 'go.opentelemetry.io/collector/cmd/builder'], cwd);
    // The builder writes the collector's sources and binary into output_path; point it at the staging folder.
    const manifest = join(staging, 'builder-config.yaml');
    const sources = join(staging, 'src');
    writeFileSync(manifest, readFileSync(COLLECTOR_MANIFEST, 'utf8').replace(/^(\s*output_path:).*$/m, `$1 ${JSON.stringify(sources)}`));
    run(builder, ['--config', manifest, `--gcflags=${GCFLAGS}`], cwd);
    renameSync(join(sources, COLLECTOR_BINARY), join(staging, COLLECTOR_BINARY));
    for (const leftover of ['ocb', 'builder-config.yaml', 'src']) rmSync(join(staging, leftover), { recursive: true, force: true });
    console.log(`components: built ${COLLECTOR_BINARY} in ${seconds(started)}`);
  });
}

/** `npm run components [-- name...]`: all components, or only those named (kubernetes, etcd, ..., otelcol). */
function main(only: readonly string[]): void {
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  const go = spawnSync('go', ['version'], { env: goEnv(), encoding: 'utf8' });
  if (go.status !== 0) {
    console.error('components: Go 1.26 is needed (https://go.dev/dl/, or /usr/local/go/bin on the PATH); nothing was built.');
    process.exit(1);
  }
  console.log(`components: ${go.stdout.trim()}, cache ${componentsCache()}`);
  const started = process.hrtime.bigint();
  for (const component of COMPONENTS.filter((c) => wanted(c.name))) {
    if (Object.keys(component.binaries).every((binary) => existsSync(componentPath(binary)))) continue;
    buildComponent(component);
  }
  if (wanted('otelcol') && !existsSync(componentPath(COLLECTOR_BINARY))) buildCollector();
  console.log(`components: ready in ${seconds(started)}:`);
  for (const binary of [...COMPONENTS.flatMap((c) => Object.keys(c.binaries)), COLLECTOR_BINARY]) console.log(`  ${componentPath(binary)}`);
}

if (import.meta.main) main(process.argv.slice(2));

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadValues } from '../cli/targets.ts';
import { synth } from '../main.ts';
import { parseValues, valuesJsonSchema, ValuesError } from '../charts/values.ts';
import { synthCli, tempDir, treeDigest, valuesFile } from './cli.ts';
import { ROOT } from './delivery.ts';

/** Values with hardware exporter groups, each given by its fields in YAML flow style. */
const redfish = (...groups: string[]) => `redfish:\n  groups:\n${groups.map((g) => `    - { ${g} }\n`).join('')}`;
const FRA1 = 'name: fra1, nodeSelector: { sightline.io/bmc-network: fra1 }, configSecret: { name: redfish-fra1 }';
const AMS1 = 'name: ams1, nodeSelector: { sightline.io/bmc-network: ams1 }, configSecret: { name: redfish-ams1 }';

/**
 * Bad values, as a user writes them: each case is a values file, read and validated as `node main.ts --values`
 * reads it, and the message must name the field, the value and what is allowed. (What the command line does
 * with such a message, and with the output folder, is tested once below.)
 */
const badValues: ReadonlyArray<{ readonly why: string; readonly yaml: string; readonly message: string }> = [
  {
    why: 'a number is given as a string',
    yaml: 'prometheus:\n  replicas: "one"\n',
    message: 'prometheus.replicas: "one" is not a replica count (0, 1 or 2)',
  },
  {
    why: 'a key is misspelt',
    yaml: 'prometheus:\n  retension: 30d\n',
    message: 'prometheus.retension: unknown key (allowed here: retention, retentionSize,',
  },
  {
    why: 'a top-level key is misspelt',
    yaml: 'grafanna:\n  replicas: 1\n',
    message: 'grafanna: unknown key (allowed here: namespace, clusterName, storageClassName, prometheus, grafana',
  },
  {
    why: 'a duration is prose',
    yaml: 'prometheus:\n  retention: 15 days\n',
    message: 'prometheus.retention: "15 days" is not a duration like 15d or 36h',
  },
  {
    why: 'a duration is zero',
    yaml: 'prometheus:\n  scrapeInterval: 0s\n',
    message: 'prometheus.scrapeInterval: "0s" is not a duration like 15d or 36h',
  },
  {
    why: 'a byte size has no unit',
    yaml: 'prometheus:\n  retentionSize: "8"\n',
    message: 'prometheus.retentionSize: "8" is not a size like 512MB or 50GB',
  },
  {
    why: 'a storage quantity uses decimal units',
    yaml: 'prometheus:\n  storage: 10GB\n',
    message: 'prometheus.storage: "10GB" is not a quantity like 512Mi, 10Gi or 1Ti',
  },
  {
    why: 'replicas are negative',
    yaml: 'grafana:\n  replicas: -1\n',
    message: 'grafana.replicas: -1 is not a replica count: use 1, or 0 to stop the workload and keep its data',
  },
  {
    why: 'Prometheus is given more than a pair',
    yaml: 'prometheus:\n  replicas: 3\n',
    message: 'prometheus.replicas: 3 is more than 2: Prometheus runs alone (1) or as an HA pair of identical copies (2)',
  },
  {
    why: 'the external metrics store has a write URL with credentials in it',
    yaml: 'prometheus:\n  external:\n    writeUrl: https://user:secret@mimir.example.com/api/v1/push\n    queryUrl: https://mimir.example.com/prometheus\n',
    message:
      'prometheus.external.writeUrl: "https://user:secret@mimir.example.com/api/v1/push" is not an http(s) URL without credentials, query or fragment, like http://mimir-gateway.mimir.svc.cluster.local/api/v1/push',
  },
  {
    why: 'the external metrics store has no query URL',
    yaml: 'prometheus:\n  external:\n    writeUrl: https://mimir.example.com/api/v1/push\n',
    message: 'prometheus.external.queryUrl: nothing is not a string',
  },
  {
    why: 'the external metrics store has a tenant Mimir refuses',
    yaml: 'prometheus:\n  external:\n    writeUrl: https://mimir.example.com/api/v1/push\n    queryUrl: https://mimir.example.com/prometheus\n    tenant: team a\n',
    message: 'prometheus.external.tenant: "team a" is not a tenant ID',
  },
  {
    why: 'the external metrics store takes a bearer token without naming its Secret',
    yaml: 'prometheus:\n  external:\n    writeUrl: https://mimir.example.com/api/v1/push\n    queryUrl: https://mimir.example.com/prometheus\n    auth: { type: bearer }\n',
    message: 'prometheus.external.auth.secretName: nothing is not a string',
  },
  {
    why: 'a ReadWriteOnce workload is scaled out',
    yaml: 'grafana:\n  replicas: 2\n',
    message: 'grafana.replicas: 2 is more than 1: the workload keeps its data on a ReadWriteOnce volume',
  },
  { why: 'the namespace is not a DNS label', yaml: 'namespace: Sightline_Prod\n', message: 'namespace: "Sightline_Prod" is not a DNS label' },
  {
    why: 'a CPU quantity is prose',
    yaml: 'grafana:\n  resources:\n    limits:\n      cpu: lots\n',
    message: 'grafana.resources.limits.cpu: "lots" is not a CPU quantity like 250m or 2',
  },
  {
    why: 'the scrape timeout exceeds the interval',
    yaml: 'prometheus:\n  scrapeInterval: 15s\n  scrapeTimeout: 20s\n',
    message: 'prometheus.scrapeTimeout: "20s" is longer than prometheus.scrapeInterval (15s)',
  },
  {
    why: 'size retention cannot trigger before the disk is full',
    yaml: 'prometheus:\n  storage: 5Gi\n  retentionSize: 8GB\n',
    message: 'prometheus.retentionSize: "8GB" must be smaller than prometheus.storage (5Gi)',
  },
  {
    why: 'a syslog format is unknown',
    yaml: 'syslog:\n  udp:\n    format: cef\n',
    message: 'syslog.udp.format: "cef" is not one of "rfc5424", "rfc3164"',
  },
  {
    why: 'a syslog port is out of range',
    yaml: 'syslog:\n  tcp:\n    port: 70000\n',
    message: 'syslog.tcp.port: 70000 is not a port number (an integer from 1 to 65535)',
  },
  {
    why: 'a device address is not an IP address',
    yaml: 'syslog:\n  devices:\n    - { address: core-sw1.example.net, name: core-sw1 }\n',
    message: 'syslog.devices[0].address: "core-sw1.example.net" is not an IP address',
  },
  {
    why: 'two devices share a name',
    yaml: 'syslog:\n  devices:\n    - { address: 10.0.0.1, name: sw1 }\n    - { address: 10.0.0.2, name: sw1 }\n',
    message: 'syslog.devices[1].name: "sw1" is already the name of syslog.devices[0]',
  },
  {
    why: 'the log retention is not a duration',
    yaml: 'loki:\n  retention: forever\n',
    message: 'loki.retention: "forever" is not a duration like 15d or 36h',
  },
  { why: 'a section is not a mapping', yaml: 'prometheus: big\n', message: 'prometheus: "big" is not a mapping' },
  {
    why: 'the Secret name is not a DNS label',
    yaml: 'grafana:\n  adminSecret:\n    name: Grafana Admin\n',
    message: 'grafana.adminSecret.name: "Grafana Admin" is not a DNS label',
  },
  {
    why: 'a trace retention is not a duration',
    yaml: 'tempo:\n  blockRetention: two weeks\n',
    message: 'tempo.blockRetention: "two weeks" is not a duration like 15d or 36h',
  },
  {
    why: 'the live-store block size is zero',
    yaml: 'tempo:\n  maxBlockBytes: 0\n',
    message: 'tempo.maxBlockBytes: 0 must be a positive number of bytes',
  },
  {
    why: 'the live-store block size is negative',
    yaml: 'tempo:\n  maxBlockBytes: -1048576\n',
    message: 'tempo.maxBlockBytes: -1048576 must be a positive number of bytes',
  },
  {
    why: 'two collector receivers share a port',
    yaml: 'otelCollector:\n  otlpHttpPort: 4317\n',
    message: 'otelCollector.otlpHttpPort: 4317 is already taken by otelCollector.otlpGrpcPort; each receiver needs a port of its own',
  },
  {
    why: 'a collector receiver takes the internal metrics port',
    yaml: 'otelCollector:\n  otlpGrpcPort: 8888\n',
    message: "otelCollector.otlpGrpcPort: 8888 is already taken by the collector's internal metrics port",
  },
  {
    why: 'two servers share a name, in different exporter groups',
    yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.1 }]`, `${AMS1}, servers: [{ name: s1, bmc: 10.0.1.1 }]`),
    message: 'redfish.groups[1].servers[0].name: "s1" is already the name of redfish.groups[0].servers[0]: server names are unique across all groups',
  },
  {
    why: 'a BMC address is neither a host name, an IP nor a URL',
    yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.300 }]`),
    message:
      'redfish.groups[0].servers[0].bmc: "10.0.0.300" is not a BMC address: give a host name, an IP address or a URL like https://10.0.0.5:8443',
  },
  {
    why: 'a BMC walk may last as long as its interval',
    yaml: redfish(`${FRA1}, scrapeInterval: 2m, scrapeTimeout: 2m, servers: [{ name: s1, bmc: 10.0.0.1 }]`),
    message: 'redfish.groups[0].scrapeTimeout: "2m" is not shorter than redfish.groups[0].scrapeInterval (2m)',
  },
  {
    why: 'an exporter group has no node selector',
    yaml: redfish('name: fra1, configSecret: { name: redfish-fra1 }, servers: [{ name: s1, bmc: 10.0.0.1 }]'),
    message: 'redfish.groups[0].nodeSelector: nothing is given, but every group needs the labels of the nodes that can reach its BMCs',
  },
  {
    why: 'a server label is not a Prometheus label name',
    yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.1, labels: { rack-id: r1 } }]`),
    message:
      'redfish.groups[0].servers[0].labels.rack-id: "rack-id" is not a Prometheus label name (letters, digits and _, not starting with a digit)',
  },
  { why: 'the file is a list, not a mapping', yaml: '- prometheus\n', message: '(top level): ["prometheus"] is not a mapping' },
  { why: 'the file is not YAML', yaml: 'prometheus:\n  retention: [15d\n', message: 'values.yaml is not valid' },
  { why: 'the Argo CD section has no repository', yaml: 'argocd:\n  targetRevision: main\n', message: 'argocd.repoURL: nothing is not a string' },
  {
    why: 'the Argo CD repository is not a URL',
    yaml: 'argocd:\n  repoURL: platform/sightline\n',
    message: 'argocd.repoURL: "platform/sightline" is not a Git repository URL',
  },
  {
    why: 'the Argo CD repository key is spelt as cdk8s spells it',
    yaml: 'argocd:\n  repoUrl: https://git.example.com/x.git\n',
    message: 'argocd.repoUrl: unknown key (allowed here: repoURL, targetRevision, path,',
  },
  {
    why: 'the Argo CD path climbs out of the repository',
    yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n  path: ../dist\n',
    message: 'argocd.path: "../dist" is not a folder relative to the repository root',
  },
  {
    why: 'Argo CD pruning is prose',
    yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n  automated:\n    prune: yes please\n',
    message: 'argocd.automated.prune: "yes please" is not a boolean',
  },
  // Accepted before, broken at deploy or run time.
  {
    why: 'a duration is beyond what Go and Prometheus can represent',
    yaml: 'prometheus:\n  retention: 1000y\n',
    message: 'prometheus.retention: "1000y" is longer than 292y24w3d23h47m16s854ms',
  },
  {
    why: 'a request is above its limit',
    yaml: 'grafana:\n  resources:\n    requests: { memory: 1Gi }\n    limits: { memory: 512Mi }\n',
    message: 'grafana.resources.requests.memory: "1Gi" is more than limits.memory (512Mi)',
  },
  {
    why: 'a Secret key has a space',
    yaml: 'grafana:\n  adminSecret:\n    userKey: admin user\n',
    message: 'grafana.adminSecret.userKey: "admin user" is not a Secret key',
  },
  {
    why: 'a Secret key is a path',
    yaml: redfish(
      'name: fra1, nodeSelector: { sightline.io/bmc-network: fra1 }, configSecret: { name: redfish-fra1, key: creds/config.yml }, servers: [{ name: s1, bmc: 10.0.0.1 }]',
    ),
    message: 'redfish.groups[0].configSecret.key: "creds/config.yml" is not a Secret key',
  },
  {
    why: 'the Argo CD revision is not a Git ref',
    yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n  targetRevision: release 1.0\n',
    message: 'argocd.targetRevision: "release 1.0" is not a Git revision',
  },
  {
    why: 'a device address is IPv6 in a form the receiver never reports',
    yaml: 'syslog:\n  devices:\n    - { address: "2001:DB8:0:0:0:0:0:1", name: sw1 }\n',
    message: 'syslog.devices[0].address: "2001:DB8:0:0:0:0:0:1" is not in canonical form: write "2001:db8::1"',
  },
  {
    why: 'a server label is one the alerts set',
    yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.1, labels: { server: db-01 } }]`),
    message: 'redfish.groups[0].servers[0].labels.server: "server" is a label Sightline sets itself',
  },
  {
    why: 'a BMC walk and its timeout reach into the 5m lookback',
    yaml: redfish(`${FRA1}, scrapeInterval: 3m, scrapeTimeout: 150s, servers: [{ name: s1, bmc: 10.0.0.1 }]`),
    message: 'redfish.groups[0].scrapeInterval: "3m" is too long with redfish.groups[0].scrapeTimeout (150s)',
  },
  {
    why: 'an alert route names a receiver that does not exist',
    yaml: 'alertmanager:\n  route:\n    severities:\n      critical: [pager]\n',
    message: 'alertmanager.route.severities.critical[0]: "pager" is not a receiver of alertmanager.receivers (nobody)',
  },
  {
    why: 'a notifier secret is written into the values',
    yaml: 'alertmanager:\n  receivers:\n    - name: chat\n      slack: { url: "https://hooks.slack.com/services/T/B/x" }\n',
    message: 'alertmanager.receivers[0].slack.url: unknown key (allowed here: urlSecret, channel)',
  },
];

describe('a values file', () => {
  const dir = tempDir();

  it.each(badValues)('fails when $why, naming the field', ({ yaml, message }) => {
    const file = valuesFile(dir, yaml);

    expect(() => loadValues(file)).toThrow(ValuesError);
    expect(() => loadValues(file)).toThrow(message);
  });

  it('fails on a 5 MB junk file with a short message, quoting only the start of what it read', () => {
    const file = valuesFile(dir, 'x'.repeat(5 * 1024 * 1024));

    const error = (() => {
      try {
        loadValues(file);
      } catch (e) {
        return e as Error;
      }
      throw new Error('a 5 MB junk file was accepted');
    })();
    // 200 characters of the quoted value, its opening quote included.
    expect(error.message).toMatch(/\(top level\): "x{199}\.\.\. \(\d+ more characters\) is not a mapping/);
    expect(error.message.length).toBeLessThan(1000);
  });
});

describe('node main.ts', () => {
  const dir = tempDir();
  const out = join(dir, 'dist');

  it('renders valid values into the output folder, byte for byte the dist/ that is committed, and says nothing', () => {
    // The defaults, spelled out: what `npm run synth` renders into dist/.
    const run = synthCli(['--values', valuesFile(dir, 'namespace: sightline\n', 'good.yaml'), '--out', out]);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(treeDigest(out)).toEqual(treeDigest(join(ROOT, 'dist')));
  });

  it('fails on invalid values with the field-path message, leaving the output folder byte-identical', () => {
    const before = treeDigest(out);
    const bad = valuesFile(dir, 'prometheus:\n  replicas: "one"\n', 'bad.yaml');

    const run = synthCli(['--values', bad, '--out', out]);

    expect(run.stderr).toBe(
      `synth failed: ${bad} is not valid:\n  - prometheus.replicas: "one" is not a replica count (0, 1 or 2)\n` +
        `The output (${out}/, ${out}-argocd/) was left unchanged.\n`,
    );
    expect(run.status).toBe(1);
    expect(treeDigest(out)).toEqual(before);
  });
});

describe('values', () => {
  it('render a complete stack from no file at all', () => {
    const values = parseValues(undefined);
    expect(values.namespace).toBe('sightline');
    expect(values.prometheus.retention).toBe('15d');
    expect(values.grafana.adminSecret.name).toBe('grafana-admin');
  });

  it('keep what the user set and default the rest of the section', () => {
    const values = parseValues({ prometheus: { retention: '30d' } });
    expect(values.prometheus.retention).toBe('30d');
    expect(values.prometheus.scrapeInterval).toBe('30s');
  });

  it('report every problem at once, not just the first', () => {
    const error = (() => {
      try {
        parseValues({ namespace: 'X', prometheus: { retention: 'soon' } });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValuesError);
    expect((error as ValuesError).problems).toHaveLength(2);
  });

  it('replace the previous output when valid values are synthesized again', () => {
    const root = tempDir();
    const render = (values: unknown) => synth(root, [{ values: parseValues(values), source: 'test values', out: 'dist' }], ['dist']);
    render(undefined);
    const first = treeDigest(join(root, 'dist'));

    render({ namespace: 'observability' });

    const second = treeDigest(join(root, 'dist'));
    expect(Object.keys(second)).toEqual(Object.keys(first));
    expect(second).not.toEqual(first);
  });
});

describe('the values schema for editors', () => {
  it('is generated from the same source as the validation (run `npm run schema` after changing values.ts)', () => {
    const committed = JSON.parse(readFileSync(new URL('../values.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(valuesJsonSchema());
  });

  it('rejects unknown keys, as the validation does', () => {
    const schema = valuesJsonSchema() as any;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.prometheus.additionalProperties).toBe(false);
  });
});

describe('every committed environment', () => {
  it('is valid', () => {
    const files = readdirSync(new URL('../environments', import.meta.url)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => loadValues(`environments/${f}`), f).not.toThrow();
  });
});

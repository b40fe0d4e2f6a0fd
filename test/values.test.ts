import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadValues } from '../main.ts';
import { parseValues, valuesJsonSchema, ValuesError } from '../charts/values.ts';
import { synthCli, tempDir, treeDigest, valuesFile } from './cli.ts';

/** Values with hardware exporter groups, each given by its fields in YAML flow style. */
const redfish = (...groups: string[]) => `redfish:\n  groups:\n${groups.map((g) => `    - { ${g} }\n`).join('')}`;
const FRA1 = 'name: fra1, nodeSelector: { sightline.io/bmc-network: fra1 }, configSecret: { name: redfish-fra1 }';
const AMS1 = 'name: ams1, nodeSelector: { sightline.io/bmc-network: ams1 }, configSecret: { name: redfish-ams1 }';

/**
 * Bad values, end to end: each case runs the real CLI against an output folder holding a previous good
 * render, and asserts the field-path message, the non-zero exit, and that the folder is byte-identical.
 */
const badValues: ReadonlyArray<{ readonly why: string; readonly yaml: string; readonly message: string }> = [
  { why: 'a number is given as a string', yaml: 'prometheus:\n  replicas: "one"\n', message: 'prometheus.replicas: "one" is not a replica count (0 or 1)' },
  { why: 'a key is misspelt', yaml: 'prometheus:\n  retension: 30d\n', message: 'prometheus.retension: unknown key (allowed here: retention, retentionSize,' },
  { why: 'a top-level key is misspelt', yaml: 'grafanna:\n  replicas: 1\n', message: 'grafanna: unknown key (allowed here: namespace, clusterName, storageClassName, prometheus, grafana' },
  { why: 'a duration is prose', yaml: 'prometheus:\n  retention: 15 days\n', message: 'prometheus.retention: "15 days" is not a duration like 15d or 36h' },
  { why: 'a duration is zero', yaml: 'prometheus:\n  scrapeInterval: 0s\n', message: 'prometheus.scrapeInterval: "0s" is not a duration like 15d or 36h' },
  { why: 'a byte size has no unit', yaml: 'prometheus:\n  retentionSize: "8"\n', message: 'prometheus.retentionSize: "8" is not a size like 512MB or 50GB' },
  { why: 'a storage quantity uses decimal units', yaml: 'prometheus:\n  storage: 10GB\n', message: 'prometheus.storage: "10GB" is not a quantity like 512Mi, 10Gi or 1Ti' },
  { why: 'replicas are negative', yaml: 'grafana:\n  replicas: -1\n', message: 'grafana.replicas: -1 is not a replica count: use 1, or 0 to stop the workload and keep its data' },
  { why: 'a ReadWriteOnce workload is scaled out', yaml: 'grafana:\n  replicas: 2\n', message: 'grafana.replicas: 2 is more than 1: the workload keeps its data on a ReadWriteOnce volume' },
  { why: 'the namespace is not a DNS label', yaml: 'namespace: Sightline_Prod\n', message: 'namespace: "Sightline_Prod" is not a DNS label' },
  { why: 'a CPU quantity is prose', yaml: 'grafana:\n  resources:\n    limits:\n      cpu: lots\n', message: 'grafana.resources.limits.cpu: "lots" is not a CPU quantity like 250m or 2' },
  { why: 'the scrape timeout exceeds the interval', yaml: 'prometheus:\n  scrapeInterval: 15s\n  scrapeTimeout: 20s\n', message: 'prometheus.scrapeTimeout: "20s" is longer than prometheus.scrapeInterval (15s)' },
  { why: 'size retention cannot trigger before the disk is full', yaml: 'prometheus:\n  storage: 5Gi\n  retentionSize: 8GB\n', message: 'prometheus.retentionSize: "8GB" must be smaller than prometheus.storage (5Gi)' },
  { why: 'a syslog format is unknown', yaml: 'syslog:\n  udp:\n    format: cef\n', message: 'syslog.udp.format: "cef" is not one of "rfc5424", "rfc3164"' },
  { why: 'a syslog port is out of range', yaml: 'syslog:\n  tcp:\n    port: 70000\n', message: 'syslog.tcp.port: 70000 is not a port number (an integer from 1 to 65535)' },
  { why: 'a device address is not an IP address', yaml: 'syslog:\n  devices:\n    - { address: core-sw1.example.net, name: core-sw1 }\n', message: 'syslog.devices[0].address: "core-sw1.example.net" is not an IP address' },
  { why: 'two devices share a name', yaml: 'syslog:\n  devices:\n    - { address: 10.0.0.1, name: sw1 }\n    - { address: 10.0.0.2, name: sw1 }\n', message: 'syslog.devices[1].name: "sw1" is already the name of syslog.devices[0]' },
  { why: 'the log retention is not a duration', yaml: 'loki:\n  retention: forever\n', message: 'loki.retention: "forever" is not a duration like 15d or 36h' },
  { why: 'a section is not a mapping', yaml: 'prometheus: big\n', message: 'prometheus: "big" is not a mapping' },
  { why: 'the Secret name is not a DNS label', yaml: 'grafana:\n  adminSecret:\n    name: Grafana Admin\n', message: 'grafana.adminSecret.name: "Grafana Admin" is not a DNS label' },
  { why: 'a trace retention is not a duration', yaml: 'tempo:\n  blockRetention: two weeks\n', message: 'tempo.blockRetention: "two weeks" is not a duration like 15d or 36h' },
  { why: 'the live-store block size is zero', yaml: 'tempo:\n  maxBlockBytes: 0\n', message: 'tempo.maxBlockBytes: 0 must be a positive number of bytes' },
  { why: 'the live-store block size is negative', yaml: 'tempo:\n  maxBlockBytes: -1048576\n', message: 'tempo.maxBlockBytes: -1048576 must be a positive number of bytes' },
  { why: 'two collector receivers share a port', yaml: 'otelCollector:\n  otlpHttpPort: 4317\n', message: 'otelCollector.otlpHttpPort: 4317 is already taken by otelCollector.otlpGrpcPort; each receiver needs a port of its own' },
  { why: 'a collector receiver takes the internal metrics port', yaml: 'otelCollector:\n  otlpGrpcPort: 8888\n', message: "otelCollector.otlpGrpcPort: 8888 is already taken by the collector's internal metrics port" },
  { why: 'two servers share a name, in different exporter groups', yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.1 }]`, `${AMS1}, servers: [{ name: s1, bmc: 10.0.1.1 }]`), message: 'redfish.groups[1].servers[0].name: "s1" is already the name of redfish.groups[0].servers[0]: server names are unique across all groups' },
  { why: 'a BMC address is neither a host name, an IP nor a URL', yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.300 }]`), message: 'redfish.groups[0].servers[0].bmc: "10.0.0.300" is not a BMC address: give a host name, an IP address or a URL like https://10.0.0.5:8443' },
  { why: 'a BMC walk may last as long as its interval', yaml: redfish(`${FRA1}, scrapeInterval: 2m, scrapeTimeout: 2m, servers: [{ name: s1, bmc: 10.0.0.1 }]`), message: 'redfish.groups[0].scrapeTimeout: "2m" is not shorter than redfish.groups[0].scrapeInterval (2m)' },
  { why: 'an exporter group has no node selector', yaml: redfish('name: fra1, configSecret: { name: redfish-fra1 }, servers: [{ name: s1, bmc: 10.0.0.1 }]'), message: 'redfish.groups[0].nodeSelector: nothing is given, but every group needs the labels of the nodes that can reach its BMCs' },
  { why: 'a server label is not a Prometheus label name', yaml: redfish(`${FRA1}, servers: [{ name: s1, bmc: 10.0.0.1, labels: { rack-id: r1 } }]`), message: 'redfish.groups[0].servers[0].labels.rack-id: "rack-id" is not a Prometheus label name (letters, digits and _, not starting with a digit)' },
  { why: 'the file is a list, not a mapping', yaml: '- prometheus\n', message: '(top level): ["prometheus"] is not a mapping' },
  { why: 'the file is not YAML', yaml: 'prometheus:\n  retention: [15d\n', message: 'values.yaml is not valid' },
  { why: 'the Argo CD section has no repository', yaml: 'argocd:\n  targetRevision: main\n', message: 'argocd.repoURL: nothing is not a string' },
  { why: 'the Argo CD repository is not a URL', yaml: 'argocd:\n  repoURL: platform/sightline\n', message: 'argocd.repoURL: "platform/sightline" is not a Git repository URL' },
  { why: 'the Argo CD repository key is spelt as cdk8s spells it', yaml: 'argocd:\n  repoUrl: https://git.example.com/x.git\n', message: 'argocd.repoUrl: unknown key (allowed here: repoURL, targetRevision, path,' },
  { why: 'the Argo CD path climbs out of the repository', yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n  path: ../dist\n', message: 'argocd.path: "../dist" is not a folder relative to the repository root' },
  { why: 'Argo CD pruning is prose', yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n  automated:\n    prune: yes please\n', message: 'argocd.automated.prune: "yes please" is not a boolean' },
  { why: 'an alert route names a receiver that does not exist', yaml: 'alertmanager:\n  route:\n    severities:\n      critical: [pager]\n', message: 'alertmanager.route.severities.critical[0]: "pager" is not a receiver of alertmanager.receivers (nobody)' },
  { why: 'a notifier secret is written into the values', yaml: 'alertmanager:\n  receivers:\n    - name: chat\n      slack: { url: "https://hooks.slack.com/services/T/B/x" }\n', message: 'alertmanager.receivers[0].slack.url: unknown key (allowed here: urlSecret, channel)' },
  {
    why: 'Argo CD has no path and the output folder is outside the repository',
    yaml: 'argocd:\n  repoURL: https://git.example.com/x.git\n',
    message: 'argocd.path: nothing was given, and the output folder',
  },
];

describe('synth with invalid values', () => {
  let dir: string;
  let out: string;
  let before: Record<string, string>;

  beforeAll(() => {
    dir = tempDir();
    out = join(dir, 'dist');
    const run = synthCli(['--out', out]);
    expect(run.status, run.stderr).toBe(0);
    before = treeDigest(out);
    expect(Object.keys(before).length).toBeGreaterThan(0);
  });

  it.each(badValues)('fails when $why, naming the field and leaving the output untouched', ({ yaml, message }) => {
    const run = synthCli(['--values', valuesFile(dir, yaml), '--out', out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('was left unchanged');
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
    const dir = tempDir();
    const out = join(dir, 'dist');
    expect(synthCli(['--out', out]).status).toBe(0);
    const first = treeDigest(out);
    expect(synthCli(['--values', valuesFile(dir, 'namespace: observability\n'), '--out', out]).status).toBe(0);
    const second = treeDigest(out);
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

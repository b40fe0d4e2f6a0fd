/**
 * Each rule a Kubernetes field or a component config imposes holds for every values field of that kind, not
 * only the one an example used: the fields are found in the values schema itself, so a field added later is
 * covered too.
 */
import { describe, expect, it } from 'vitest';
import { canonicalIpText, isGitRevision, MAX_DURATION, parseValues, valuesJsonSchema, type ValuesInput } from '../charts/values.ts';
import { render, valueProblems } from './support.ts';

type Schema = { properties?: Record<string, Schema>; items?: Schema; pattern?: string; allOf?: Schema[]; anyOf?: Schema[]; type?: string };

/** Paths (`a.b[0].c`) of every schema property that `matches`, descending into objects, arrays and unions. */
function fieldsWhere(matches: (name: string, schema: Schema) => boolean, schema: Schema = valuesJsonSchema() as Schema, path = ''): string[] {
  const found: string[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const here = path ? `${path}.${name}` : name;
    if (matches(name, child)) found.push(here);
    found.push(...fieldsWhere(matches, child, here));
  }
  if (schema.items) found.push(...fieldsWhere(matches, schema.items, `${path}[0]`));
  for (const branch of [...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) found.push(...fieldsWhere(matches, branch, path));
  return [...new Set(found)];
}

/** A minimal valid stack in which every section, including an exporter group and Argo CD, is present. */
const BASE: ValuesInput = {
  argocd: { repoURL: 'https://git.example.com/x.git' },
  syslog: { devices: [{ address: '10.0.0.9', name: 'sw1' }] },
  redfish: {
    groups: [
      {
        name: 'fra1',
        nodeSelector: { 'sightline.io/bmc-network': 'fra1' },
        configSecret: { name: 'redfish-fra1' },
        servers: [{ name: 's1', bmc: '10.0.0.1' }],
      },
    ],
  },
  // One receiver with every integration, so each of their fields exists.
  alertmanager: {
    receivers: [
      {
        name: 'all',
        webhook: { urlSecret: { name: 'am-webhook', key: 'url' } },
        slack: { urlSecret: { name: 'am-slack', key: 'url' } },
        email: {
          to: 'a@example.com',
          from: 'b@example.com',
          smarthost: 'smtp.example.com:587',
          username: 'am',
          passwordSecret: { name: 'am-smtp', key: 'password' },
        },
        pagerduty: { routingKeySecret: { name: 'am-pd', key: 'key' } },
      },
    ],
  },
};

/** BASE with one field set, by path. */
function withField(path: string, value: unknown): ValuesInput {
  const values = structuredClone(BASE) as Record<string, any>;
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let node = values;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys.at(-1)!] = value;
  return values as ValuesInput;
}

/** The problems reported for `path` when it is set to `value`; none when the values are accepted. */
function problemsOf(path: string, value: unknown): string[] {
  const values = withField(path, value);
  try {
    parseValues(values);
    return [];
  } catch {
    return valueProblems(values).filter((p) => p.startsWith(`${path}: `));
  }
}

describe('the base values these checks start from', () => {
  it('are valid and render', () => {
    expect(() => render(BASE)).not.toThrow();
  });
});

describe('every duration field', () => {
  const durations = fieldsWhere((_, s) => s.pattern?.includes('(\\d+y)?') ?? false);

  it('is found in the schema', () => {
    expect(durations).toEqual(
      expect.arrayContaining([
        'prometheus.retention',
        'prometheus.scrapeInterval',
        'loki.retention',
        'tempo.blockRetention',
        'redfish.groups[0].scrapeTimeout',
      ]),
    );
  });

  it.each(durations)("%s fails beyond what Go's time.Duration holds, the tightest limit of any consumer", (path) => {
    expect(problemsOf(path, '1000y')).toEqual([
      `${path}: "1000y" is longer than ${MAX_DURATION}, the longest duration Prometheus, Loki, Tempo and Grafana can represent (Go's time.Duration)`,
    ]);
    // One millisecond past 2^63-1 ns.
    expect(problemsOf(path, '292y24w3d23h47m16s855ms')).toHaveLength(1);
  });

  it('takes the longest representable duration itself', () => {
    expect(() => parseValues({ loki: { retention: MAX_DURATION } })).not.toThrow();
  });
});

describe("every container's resources", () => {
  const sections = fieldsWhere((name) => name === 'resources');

  it('are found in the schema, one per component', () => {
    expect(sections).toEqual(
      expect.arrayContaining([
        'prometheus.resources',
        'grafana.resources',
        'loki.resources',
        'promtail.resources',
        'syslog.resources',
        'tempo.resources',
        'otelCollector.resources',
        'helloApp.resources',
        'redfish.resources',
      ]),
    );
  });

  it.each(sections)('%s fails with a request above its limit, comparing quantities, not strings', (path) => {
    expect(valueProblems(withField(path, { requests: { cpu: '1500m', memory: '2Gi' }, limits: { cpu: '1', memory: '1536Mi' } }))).toEqual([
      `${path}.requests.cpu: "1500m" is more than limits.cpu (1): Kubernetes refuses a request above its limit`,
      `${path}.requests.memory: "2Gi" is more than limits.memory (1536Mi): Kubernetes refuses a request above its limit`,
    ]);
    // 0.5 cores equal 500m, and 1Gi is less than 1536Mi, though "1Gi" > "1536Mi" as text.
    expect(() => parseValues(withField(path, { requests: { cpu: '0.5', memory: '1Gi' }, limits: { cpu: '500m', memory: '1536Mi' } }))).not.toThrow();
  });
});

describe('every Secret key field', () => {
  const keys = fieldsWhere((name, s) => /key$/i.test(name) && s.type === 'string');

  it('is found in the schema', () => {
    expect(keys).toEqual(
      expect.arrayContaining(['grafana.adminSecret.userKey', 'grafana.adminSecret.passwordKey', 'redfish.groups[0].configSecret.key']),
    );
  });

  it.each(keys)('%s fails unless it is a valid data key ([-._a-zA-Z0-9]+, not "." or "..")', (path) => {
    for (const bad of ['admin user', 'creds/config.yml', '..data', '.', '', 'k'.repeat(254)]) expect(problemsOf(path, bad), bad).toHaveLength(1);
    for (const good of ['config.yml', 'admin-user', '.hidden', 'A_b-9']) expect(problemsOf(path, good), good).toEqual([]);
  });
});

describe('the Argo CD revision', () => {
  it('fails unless Git can resolve it: HEAD, a commit SHA, or a ref name git check-ref-format allows', () => {
    const bad = [
      'release 1.0',
      'feature..x',
      'a~1',
      'v1^{}',
      'x:y',
      'what?',
      'a*',
      'a[1]',
      'a\\b',
      '/main',
      'main/',
      'a//b',
      '.hidden',
      'x/.y',
      'main.lock',
      'main.',
      '@',
      'a@{1}',
      '',
    ];
    const good = [
      'HEAD',
      'main',
      'release/1.0',
      'v1.2.3',
      'refs/heads/main',
      'refs/tags/v1',
      '3f786850e387550fdab836ed7e6dc881de23001b',
      'deadbee',
      'feature_x-1',
      'a@b',
    ];
    for (const revision of bad) expect(isGitRevision(revision), revision).toBe(false);
    for (const revision of good) expect(isGitRevision(revision), revision).toBe(true);
    expect(problemsOf('argocd.targetRevision', 'release 1.0')[0]).toMatch(/^argocd\.targetRevision: "release 1\.0" is not a Git revision/);
  });
});

describe('every IP address field', () => {
  it('fails on an IPv6 address written other than as the receiver reports it, naming the form to write', () => {
    for (const path of ['syslog.devices[0].address', 'redfish.groups[0].servers[0].bmc']) {
      expect(problemsOf(path, '2001:DB8:0:0:0:0:0:1')[0], path).toContain('is not in canonical form: write "2001:db8::1"');
      expect(problemsOf(path, '2001:db8::1'), path).toEqual([]);
    }
  });

  it("writes IPv6 as RFC 5952 does and an IPv4-mapped address as IPv4, as Go's net.IP does", () => {
    expect(canonicalIpText('2001:0DB8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIpText('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIpText('::ffff:192.0.2.128')).toBe('192.0.2.128');
    expect(canonicalIpText('10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('a quoted value in a message', () => {
  it('is cut to a couple of hundred characters, saying how much was left out', () => {
    const [problem] = valueProblems({ clusterName: `bad name ${'x'.repeat(10_000)}` });
    expect(problem!.length).toBeLessThan(400);
    expect(problem).toMatch(/^clusterName: "bad name x+\.\.\. \(\d+ more characters\) is not a cluster name/);
  });

  it('is cut for an unknown key too', () => {
    const [problem] = valueProblems({ [`k${'y'.repeat(10_000)}`]: 1 });
    expect(problem!.length).toBeLessThan(1000);
  });
});

describe('every scrape interval and timeout pair', () => {
  it("fails when the two together leave less than a minute of Prometheus's 5m lookback, globally and per exporter group", () => {
    expect(
      problemsOf('prometheus.scrapeInterval', '3m').concat(valueProblems(withField('prometheus', { scrapeInterval: '3m', scrapeTimeout: '90s' }))),
    ).toContain(
      'prometheus.scrapeInterval: "3m" is too long with prometheus.scrapeTimeout (90s): scrapeInterval + scrapeTimeout is 270s, more than 4m (Prometheus\'s 5m lookback less a minute of margin), so series would vanish between scrapes and alerts would reset',
    );
    expect(problemsOf('redfish.groups[0].scrapeInterval', '4m')[0]).toMatch(
      /^redfish\.groups\[0\]\.scrapeInterval: "4m" is too long with redfish\.groups\[0\]\.scrapeTimeout \(90s\)/,
    );
    expect(() => parseValues(withField('prometheus', { scrapeInterval: '2m', scrapeTimeout: '2m' }))).not.toThrow();
  });
});

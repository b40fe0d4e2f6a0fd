/**
 * External backends for logs and traces (`loki.external`, `tempo.external`): the embedded stores are not
 * rendered, every client writes to the external endpoints with the tenant and the credential files of a
 * mounted Secret, Grafana queries them under the same datasource uids, and every correlation link resolves.
 * Read from the rendered objects of environments/external.yaml (the committed rendered/external/ equals a
 * fresh render: delivery.test.ts), and of variations of it.
 */
import { describe, expect, it } from 'vitest';
import { DATASOURCE_UID } from '../charts/shared/datasources.ts';
import { EXTERNAL_SECRETS_ANNOTATION } from '../charts/shared/workload.ts';
import { component, parseAlloy, type ParsedBlock } from './alloy-parse.ts';
import { egressAllowed, type Pod } from './network-policy.ts';
import { container, environments, podSpec, render, valueProblems, type K8sObject } from './support.ts';

const ENVIRONMENT = environments().find(([file]) => file === 'environments/external.yaml')![1] as any;
const LOKI = ENVIRONMENT.loki.external;
const TEMPO = ENVIRONMENT.tempo.external;
const AGENTS = 'sightline-agents';
/** Loki's OTLP base beside its push API: what the collector's otlp_http exporter is given. */
const LOKI_OTLP = LOKI.writeUrl.replace(/\/loki\/api\/v1\/push$/, '/otlp');

/**
 * The Secret and key a file path of `containerName` in `workload` reads: a mounted Secret volume whose mount
 * path is the file's folder, and the file's name a key of it (Kubernetes projects each key as a file).
 */
function secretFile(workload: K8sObject, containerName: string, path: string): { secretName: string; key: string } | undefined {
  const folder = path.slice(0, path.lastIndexOf('/'));
  const key = path.slice(path.lastIndexOf('/') + 1);
  const mount = container(workload, containerName).volumeMounts.find((m: any) => m.mountPath === folder);
  const volume = podSpec(workload).volumes.find((v: any) => v.name === mount?.name);
  if (!mount || !volume?.secret || mount.readOnly !== true) return undefined;
  return { secretName: volume.secret.secretName, key };
}

/** Whether the Secret is declared as created out of band on the workload's pods. */
function declaresExternal(workload: K8sObject, secretName: string): boolean {
  return (workload.spec.template.metadata.annotations?.[EXTERNAL_SECRETS_ANNOTATION] ?? '').split(',').includes(secretName);
}

const podOf = (w: K8sObject): Pod => ({ namespace: w.metadata.namespace!, labels: w.spec.template.metadata.labels });
const portOf = (url: string) => {
  const u = new URL(url);
  return { port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port), protocol: 'TCP' } as const;
};

function lokiWriteEndpoint(text: string): ParsedBlock {
  const write = component(parseAlloy(text), 'loki.write', 'default');
  expect(write.blocks.map((b) => b.name)).toEqual(['endpoint']);
  return write.blocks[0]!;
}

describe('a stack with logs and traces in external backends (environments/external.yaml)', () => {
  const r = render(ENVIRONMENT);
  const policies = r.all('NetworkPolicy');
  const ds = (uid: string) => r.configFile('grafana-datasources', 'datasources.yaml').datasources.find((d: any) => d.uid === uid);
  const grafana = r.find('Deployment', 'grafana');
  const collector = r.find('Deployment', 'otel-collector');

  it('renders no Loki or Tempo: no workload, Service, claim, config, scrape job, alert group or dashboard', () => {
    const names = r.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.filter((n) => /\/(loki|tempo)(-|$)/.test(n))).toEqual([]);
    expect(r.stack.loki).toBeUndefined();
    expect(r.stack.tempo).toBeUndefined();
    const prometheus = r.configFile('prometheus-config', 'prometheus.yml');
    expect(prometheus.scrape_configs.map((j: any) => j.job_name)).not.toEqual(expect.arrayContaining(['loki']));
    expect(prometheus.scrape_configs.map((j: any) => j.job_name)).not.toEqual(expect.arrayContaining(['tempo']));
    const groups = r.configFile('prometheus-rules', 'rules.yaml').groups;
    expect(groups.map((g: any) => g.name)).not.toEqual(expect.arrayContaining(['loki']));
    expect(groups.map((g: any) => g.name)).not.toEqual(expect.arrayContaining(['tempo']));
    expect(JSON.stringify(groups)).not.toMatch(/job=\\"(loki|tempo)\\"/);
    expect(names).not.toContain('ConfigMap/grafana-dashboard-sightline-loki');
    expect(names).not.toContain('ConfigMap/grafana-dashboard-sightline-tempo');
  });

  it('has Promtail push to the external push URL with its tenant, and the password file of the mounted Secret', () => {
    const daemonSet = r.find('DaemonSet', 'promtail', AGENTS);
    const [client] = r.configFile('promtail-config', 'promtail.yaml').clients;
    expect(client).toMatchObject({ url: LOKI.writeUrl, tenant_id: LOKI.tenant, basic_auth: { username: LOKI.auth.username } });
    expect(client.headers).toBeUndefined();
    expect(secretFile(daemonSet, 'promtail', client.basic_auth.password_file)).toEqual({ secretName: LOKI.auth.secretName, key: 'password' });
    expect(declaresExternal(daemonSet, LOKI.auth.secretName)).toBe(true);
  });

  it("has Alloy's node agent and syslog receiver push to the external push URL with its tenant and password file", () => {
    for (const [workload, configMap] of [
      [r.find('DaemonSet', 'alloy', AGENTS), r.find('ConfigMap', 'alloy-config', AGENTS)],
      [r.find('Deployment', 'syslog'), r.find('ConfigMap', 'syslog-config')],
    ] as const) {
      const endpoint = lokiWriteEndpoint(configMap.data['config.alloy']);
      expect(endpoint.attributes).toEqual({ url: LOKI.writeUrl, tenant_id: LOKI.tenant });
      const basic = endpoint.blocks.find((b) => b.name === 'basic_auth')!;
      expect(basic.attributes.username).toBe(LOKI.auth.username);
      expect(secretFile(workload, 'alloy', basic.attributes.password_file as string), workload.metadata.name).toEqual({
        secretName: LOKI.auth.secretName,
        key: 'password',
      });
      expect(declaresExternal(workload, LOKI.auth.secretName)).toBe(true);
    }
  });

  it('has the collector send logs to the OTLP base beside the push URL and traces to the OTLP/HTTP base, each with its tenant and auth', () => {
    const config = r.configFile('otel-collector-config', 'config.yaml');
    expect(config.service.pipelines.logs.exporters).toEqual(['otlp_http/loki']);
    expect(config.service.pipelines.traces.exporters).toEqual(['otlp_http/tempo']);
    expect(config.exporters['otlp_http/loki']).toEqual({
      endpoint: LOKI_OTLP,
      headers: { 'X-Scope-OrgID': LOKI.tenant },
      auth: { authenticator: 'basicauth/loki' },
    });
    expect(config.exporters['otlp_http/tempo']).toEqual({
      endpoint: TEMPO.writeUrl,
      headers: { 'X-Scope-OrgID': TEMPO.tenant },
      auth: { authenticator: 'bearertokenauth/tempo' },
    });
    expect(config.service.extensions).toEqual(expect.arrayContaining(['basicauth/loki', 'bearertokenauth/tempo']));
    const basic = config.extensions['basicauth/loki'].client_auth;
    expect(basic.username).toBe(LOKI.auth.username);
    expect(secretFile(collector, 'otel-collector', basic.password_file)).toEqual({ secretName: LOKI.auth.secretName, key: 'password' });
    const bearer = config.extensions['bearertokenauth/tempo'];
    expect(secretFile(collector, 'otel-collector', bearer.filename)).toEqual({ secretName: TEMPO.auth.secretName, key: 'token' });
    for (const secret of [LOKI.auth.secretName, TEMPO.auth.secretName]) expect(declaresExternal(collector, secret)).toBe(true);
  });

  it('provisions the Loki and Tempo datasources under their uids, querying the external query URLs with tenant and auth', () => {
    const loki = ds(DATASOURCE_UID.loki);
    expect(loki).toMatchObject({ type: 'loki', url: LOKI.queryUrl, basicAuth: true, basicAuthUser: LOKI.auth.username });
    expect(loki.jsonData.httpHeaderName1).toBe('X-Scope-OrgID');
    expect(loki.secureJsonData.httpHeaderValue1).toBe(LOKI.tenant);
    const password = /^\$__file\{(.+)\}$/.exec(loki.secureJsonData.basicAuthPassword)![1]!;
    expect(secretFile(grafana, 'grafana', password)).toEqual({ secretName: LOKI.auth.secretName, key: 'password' });

    const tempo = ds(DATASOURCE_UID.tempo);
    expect(tempo).toMatchObject({ type: 'tempo', url: TEMPO.queryUrl });
    expect(tempo.basicAuth).toBeUndefined();
    expect([tempo.jsonData.httpHeaderName1, tempo.jsonData.httpHeaderName2]).toEqual(['X-Scope-OrgID', 'Authorization']);
    expect(tempo.secureJsonData.httpHeaderValue1).toBe(TEMPO.tenant);
    const token = /^Bearer \$__file\{(.+)\}$/.exec(tempo.secureJsonData.httpHeaderValue2)![1]!;
    expect(secretFile(grafana, 'grafana', token)).toEqual({ secretName: TEMPO.auth.secretName, key: 'token' });
    for (const secret of [LOKI.auth.secretName, TEMPO.auth.secretName]) expect(declaresExternal(grafana, secret)).toBe(true);
  });

  it('keeps every correlation link resolving: logs to traces, traces to logs and metrics, the service map, exemplars', () => {
    const provisioned = new Set(r.configFile('grafana-datasources', 'datasources.yaml').datasources.map((d: any) => d.uid));
    const loki = ds(DATASOURCE_UID.loki);
    const tempo = ds(DATASOURCE_UID.tempo);
    const prometheus = ds(DATASOURCE_UID.prometheus);
    const links: Array<[string, string]> = [
      ...loki.jsonData.derivedFields.map((f: any): [string, string] => [`Loki derived field ${f.name}`, f.datasourceUid]),
      ['Tempo traces to logs', tempo.jsonData.tracesToLogsV2.datasourceUid],
      ['Tempo traces to metrics', tempo.jsonData.tracesToMetrics.datasourceUid],
      ['Tempo service map', tempo.jsonData.serviceMap.datasourceUid],
      ...prometheus.jsonData.exemplarTraceIdDestinations.map((e: any): [string, string] => [`exemplar ${e.name}`, e.datasourceUid]),
    ];
    expect(links).toEqual(
      expect.arrayContaining([
        ['Loki derived field trace_id', DATASOURCE_UID.tempo],
        ['Tempo traces to logs', DATASOURCE_UID.loki],
        ['Tempo traces to metrics', DATASOURCE_UID.prometheus],
        ['Tempo service map', DATASOURCE_UID.prometheus],
      ]),
    );
    expect(prometheus.jsonData.exemplarTraceIdDestinations.map((e: any) => e.datasourceUid)).toContain(DATASOURCE_UID.tempo);
    for (const [link, uid] of links) expect(provisioned.has(uid), link).toBe(true);
  });

  it('renders no credential: no Secret of a backend, and every credential field names a mounted file', () => {
    const secrets = r.all('Secret').map((s) => s.metadata.name);
    expect(secrets).not.toContain(LOKI.auth.secretName);
    expect(secrets).not.toContain(TEMPO.auth.secretName);
    const text = JSON.stringify(r.objects);
    // Inline credential keys of Promtail (basic_auth.password, bearer_token, authorization.credentials), Alloy
    // (`password =`, `bearer_token =`) and the collector's extensions (`password:`, `token:`).
    expect(text).not.toMatch(/"(password|bearer_token|credentials|token)":/);
    expect(text).not.toMatch(/\b(password|bearer_token|token)\s+=/);
    expect(text).not.toMatch(/\\n\s*(password|token|bearer_token|credentials): /);
  });

  it('lets every client of a backend out to its port under restricted egress, and to nowhere else on the internet', () => {
    const clients = [
      r.find('DaemonSet', 'promtail', AGENTS),
      r.find('DaemonSet', 'alloy', AGENTS),
      r.find('Deployment', 'syslog'),
      collector,
      grafana,
    ];
    const internet = { ip: '203.0.113.5' };
    for (const w of clients) {
      expect(egressAllowed(policies, podOf(w), internet, portOf(LOKI.writeUrl)), w.metadata.name).toBe(true);
      expect(egressAllowed(policies, podOf(w), internet, { port: 25, protocol: 'TCP' }), w.metadata.name).toBe(false);
    }
    expect(egressAllowed(policies, podOf(collector), internet, portOf(TEMPO.writeUrl))).toBe(true);
    expect(egressAllowed(policies, podOf(grafana), internet, portOf(TEMPO.queryUrl))).toBe(true);
  });
});

describe('external logs with Promtail in the syslog receiver and bearer tokens', () => {
  const values = {
    logs: { agent: 'promtail' },
    loki: {
      external: {
        writeUrl: 'http://loki-distributor.logs.svc:3100/loki/api/v1/push',
        queryUrl: 'http://loki-query.logs.svc:3100',
        auth: { type: 'bearer', secretName: 'loki-token' },
      },
    },
  } as const;
  const r = render(values);

  it("has the syslog receiver's Promtail push with the token file of the mounted Secret, and no tenant when none is given", () => {
    const [client] = r.configFile('syslog-config', 'promtail.yaml').clients;
    expect(client).toEqual({
      url: values.loki.external.writeUrl,
      authorization: { type: 'Bearer', credentials_file: '/etc/sightline/backends/loki-token/token' },
      external_labels: { cluster: 'dev' },
    });
    expect(secretFile(r.find('Deployment', 'syslog'), 'promtail', client.authorization.credentials_file)).toEqual({
      secretName: 'loki-token',
      key: 'token',
    });
  });

  it("keeps the embedded Tempo, whose trace-to-logs link opens the external Loki's datasource", () => {
    r.find('StatefulSet', 'tempo');
    expect(
      r.configFile('grafana-datasources', 'datasources.yaml').datasources.find((d: any) => d.uid === DATASOURCE_UID.tempo).jsonData.tracesToLogsV2
        .datasourceUid,
    ).toBe(DATASOURCE_UID.loki);
    const config = r.configFile('otel-collector-config', 'config.yaml');
    expect(config.exporters['otlp_grpc/tempo'].endpoint).toBe('tempo.sightline.svc.cluster.local:4317');
    expect(config.exporters['otlp_http/loki']).toEqual({
      endpoint: 'http://loki-distributor.logs.svc:3100/otlp',
      auth: { authenticator: 'bearertokenauth/loki' },
    });
  });

  it('gives Alloy the token as bearer_token_file', () => {
    const alloy = render({ ...values, logs: { agent: 'alloy' } });
    const endpoint = lokiWriteEndpoint(alloy.find('ConfigMap', 'alloy-config', AGENTS).data['config.alloy']);
    expect(endpoint.attributes).toEqual({ url: values.loki.external.writeUrl, bearer_token_file: '/etc/sightline/backends/loki-token/token' });
    expect(endpoint.blocks).toEqual([]);
  });
});

describe('external backend values', () => {
  const loki = (external: object) => ({ loki: { external: { writeUrl: LOKI.writeUrl, queryUrl: LOKI.queryUrl, ...external } } });
  const tempo = (external: object) => ({ tempo: { external: { writeUrl: TEMPO.writeUrl, queryUrl: TEMPO.queryUrl, ...external } } });

  it('fails when the Loki write URL is not the push API', () => {
    expect(valueProblems(loki({ writeUrl: 'https://loki.example.com' }))).toEqual([
      `loki.external.writeUrl: "https://loki.example.com" is not Loki's push API (a URL ending in /loki/api/v1/push)`,
    ]);
  });

  it('fails when the Tempo write URL names the traces path, which the collector appends', () => {
    expect(valueProblems(tempo({ writeUrl: 'https://tempo.example.com:4318/v1/traces' }))).toEqual([
      'tempo.external.writeUrl: "https://tempo.example.com:4318/v1/traces" is not an OTLP/HTTP base URL: leave /v1/traces out, the collector appends it',
    ]);
  });

  it('fails when a URL carries credentials, or is no http(s) URL', () => {
    expect(valueProblems(tempo({ queryUrl: 'https://user:secret@tempo.example.com' }))[0]).toMatch(
      /^tempo\.external\.queryUrl: .* is not an http\(s\) URL/,
    );
    expect(valueProblems(loki({ queryUrl: 'loki:3100' }))[0]).toMatch(/^loki\.external\.queryUrl: "loki:3100" is not an http\(s\) URL/);
  });

  it('fails when a tenant is not a tenant ID, or auth names no Secret', () => {
    expect(valueProblems(loki({ tenant: 'a/b' }))).toEqual([
      `loki.external.tenant: "a/b" is not a tenant ID (1 to 150 letters, digits and ! - _ . * ' ( ))`,
    ]);
    expect(valueProblems(tempo({ auth: { type: 'bearer' } }))[0]).toMatch(/^tempo\.external\.auth\.secretName: nothing /);
    expect(valueProblems(tempo({ auth: { type: 'basic', username: 'u', secretName: 'Bad_Name' } }))[0]).toMatch(
      /^tempo\.external\.auth\.secretName: "Bad_Name" /,
    );
  });

  it('fails when a section has a key it does not know', () => {
    expect(valueProblems(loki({ password: 'x' }))).toEqual(['loki.external.password: unknown key (allowed here: writeUrl, queryUrl, tenant, auth)']);
  });
});

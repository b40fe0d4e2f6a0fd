/**
 * The hardware alerts, checked and unit-tested by promtool: `promtool check rules` on the rule file exactly
 * as rendered into its ConfigMap, and `promtool test rules` with a firing and a non-firing series for each
 * alert.
 *
 * promtool comes from Debian's `prometheus` package. Without it these checks are skipped with a message, except
 * in CI (`CI` set), where a missing promtool fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import type { AlertingRule, RuleFile } from '../charts/shared/scrape.ts';
import { hardwareRules } from '../charts/redfish.ts';
import { HARDWARE_VALUES, render } from './support.ts';

/** The rule file as Prometheus reads it: the text of the rendered ConfigMap. */
function renderedRuleFile(): string {
  return render(HARDWARE_VALUES).find('ConfigMap', 'prometheus-rules').data['rules.yaml'];
}

describe('hardware alerts', () => {
  const alerts = (YAML.parse(renderedRuleFile()) as RuleFile).groups.find((g) => g.name === 'redfish')!.rules as AlertingRule[];

  it('covers an unreachable BMC, system health, each kind of component, and power', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'RedfishBmcUnreachable',
      'RedfishSystemHealthCritical',
      'RedfishSystemHealthWarning',
      'RedfishProcessorUnhealthy',
      'RedfishMemoryUnhealthy',
      'RedfishStorageUnhealthy',
      'RedfishDriveUnhealthy',
      'RedfishPowerOff',
    ]);
    expect(alerts.find((a) => a.alert === 'RedfishBmcUnreachable')!.for).toBe('10m');
  });

  it('says "Warning or not reported" where the exporter\'s 2 means either, and plain Warning for the system, where it does not', () => {
    const rules = Object.fromEntries(hardwareRules().rules.map((r) => ['alert' in r ? r.alert : r.record, r]));
    for (const alert of ['RedfishProcessorUnhealthy', 'RedfishMemoryUnhealthy', 'RedfishStorageUnhealthy', 'RedfishDriveUnhealthy']) {
      expect((rules[alert] as AlertingRule).annotations?.summary, alert).toContain('Warning or not reported');
    }
    // A system without health reports 1, so its 2 is a real Warning.
    expect((rules.RedfishSystemHealthWarning as AlertingRule).annotations?.summary).not.toContain('not reported');
  });

  it('names the server and its group in every alert, with a summary and a description', () => {
    for (const alert of alerts) {
      expect(alert.labels?.server, alert.alert).toBe('{{ $labels.instance }}');
      expect(alert.annotations?.summary, alert.alert).toContain('{{ $labels.instance }}');
      expect(alert.annotations?.description, alert.alert).toContain('(group {{ $labels.group }}, BMC {{ $labels.bmc }})');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// promtool
// ---------------------------------------------------------------------------------------------------------

const promtoolFound = spawnSync('promtool', ['--version']).status === 0;
const MISSING = 'promtool is not installed (Debian package prometheus): the rule file was not checked';
if (!promtoolFound && !process.env.CI) console.warn(`rules.test.ts: ${MISSING}; skipping promtool checks.`);

/** promtool's unit-test file. @see https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/ */
interface PromtoolTestFile {
  readonly rule_files: readonly string[];
  readonly evaluation_interval: string;
  readonly tests: ReadonlyArray<{
    readonly name: string;
    readonly interval: string;
    readonly input_series: ReadonlyArray<{ readonly series: string; readonly values: string }>;
    readonly alert_rule_test: ReadonlyArray<{
      readonly eval_time: string;
      readonly alertname: string;
      readonly exp_alerts: ReadonlyArray<{ readonly exp_labels: Record<string, string>; readonly exp_annotations: Record<string, string> }>;
    }>;
  }>;
}

/** Labels of the series of one scraped server, as the group's relabeling leaves them. */
function server(name: string, bmc: string): Record<string, string> {
  return { job: 'redfish-fra1', instance: name, bmc, group: 'fra1' };
}

function series(metric: string, labels: Record<string, string>): string {
  return `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/**
 * One alert's case: a healthy server and failing ones, each with constant values for an hour. Nothing fires
 * a minute before `for` elapses; after it, exactly the failing servers fire, with these annotations.
 */
interface AlertCase {
  readonly alert: string;
  readonly metric: string;
  readonly forMinutes: number;
  readonly severity: 'warning' | 'critical';
  /** Labels the exporter adds (system_id, drive_id, ...). */
  readonly exporterLabels: Record<string, string>;
  readonly healthyValue: number;
  readonly failing: ReadonlyArray<{ readonly value: number; readonly summary: string; readonly description: string }>;
}

const S1 = server('fra1-s01', '10.0.0.1');
const S2 = server('fra1-s02', '10.0.0.2');
const S3 = server('fra1-s03', 'idrac-s03.mgmt');
const SYSTEM = { system_id: 'System.Embedded.1' };

/**
 * Why the exporter reports 2 (redfish_exporter v1.5.1, convertHealthStatus): Warning, or no health at all for
 * an enabled processor, memory module or storage controller; for a drive, no health with a failure predicted
 * (or an enabled drive behind an HPE Smart Array).
 */
const ENABLED_UNREPORTED = 'while it is enabled (the exporter counts both as Warning)';
const DRIVE_UNREPORTED =
  'while the BMC predicts its failure, or, behind an HPE Smart Array, while it is enabled (the exporter counts these as Warning)';

const CASES: readonly AlertCase[] = [
  {
    alert: 'RedfishBmcUnreachable',
    metric: 'up',
    forMinutes: 10,
    severity: 'warning',
    exporterLabels: {},
    healthyValue: 1,
    failing: [
      {
        value: 0,
        summary: 'BMC of fra1-s02 cannot be read',
        description:
          "The Redfish exporter has failed to walk the BMC of server fra1-s02 (group fra1, BMC 10.0.0.2) for 10 minutes: its hardware is not monitored. The server itself may be fine. Check that the BMC answers from a node of the group, that the credentials in the group's config Secret are valid, and the log of the redfish-fra1 pods; if every server of the group is affected, suspect the exporter or the management network.",
      },
    ],
  },
  {
    alert: 'RedfishSystemHealthCritical',
    metric: 'redfish_health',
    forMinutes: 5,
    severity: 'critical',
    exporterLabels: SYSTEM,
    healthyValue: 1,
    failing: [
      {
        value: 3,
        summary: 'fra1-s02 reports Critical system health',
        description:
          "The BMC of server fra1-s02 (group fra1, BMC 10.0.0.2) reports system System.Embedded.1 in Critical health. Find the failed part in the BMC's web UI or event log, and move workloads off the server if it is at risk.",
      },
    ],
  },
  {
    alert: 'RedfishSystemHealthWarning',
    metric: 'redfish_health',
    forMinutes: 15,
    severity: 'warning',
    exporterLabels: SYSTEM,
    healthyValue: 1,
    failing: [
      {
        value: 2,
        summary: 'fra1-s02 reports Warning system health',
        description:
          "The BMC of server fra1-s02 (group fra1, BMC 10.0.0.2) reports system System.Embedded.1 in Warning health. Find the degraded part in the BMC's web UI or event log and plan its repair.",
      },
    ],
  },
  componentCase('RedfishProcessorUnhealthy', 'redfish_processor_health', 'Processor', { processor_id: 'CPU.Socket.2' }, 'CPU.Socket.2'),
  componentCase('RedfishMemoryUnhealthy', 'redfish_memory_health', 'Memory module', { memory_id: 'DIMM.Socket.A4' }, 'DIMM.Socket.A4'),
  componentCase(
    'RedfishStorageUnhealthy',
    'redfish_storage_health',
    'Storage controller',
    { storage_id: 'RAID.Integrated.1-1' },
    'RAID.Integrated.1-1',
  ),
  componentCase(
    'RedfishDriveUnhealthy',
    'redfish_drive_health',
    'Drive',
    { storage_id: 'RAID.Integrated.1-1', drive_id: 'Disk.Bay.3' },
    'RAID.Integrated.1-1/Disk.Bay.3',
    DRIVE_UNREPORTED,
  ),
  {
    alert: 'RedfishPowerOff',
    metric: 'redfish_power_state',
    forMinutes: 10,
    severity: 'warning',
    exporterLabels: SYSTEM,
    healthyValue: 1,
    failing: [
      {
        value: 2,
        summary: 'fra1-s02 is powered off',
        description:
          "The BMC of server fra1-s02 (group fra1, BMC 10.0.0.2) reports system System.Embedded.1 powered off for 10 minutes. If no maintenance is planned, read the BMC's event log for why it went down, then power it on from the BMC.",
      },
    ],
  },
];

/**
 * A component alert: server 2 at 2, server 3 at 3, so both renderings of the state are seen. The exporter
 * reports 2 for Warning and for a component whose BMC gives no health, so the text says both.
 */
function componentCase(
  alert: string,
  metric: string,
  component: string,
  exporterLabels: Record<string, string>,
  id: string,
  unreported = ENABLED_UNREPORTED,
): AlertCase {
  const failing = (name: string, bmc: string, value: 2 | 3) => ({
    value,
    summary: `${component} ${id} of ${name} is ${value === 2 ? 'Warning or not reported' : 'Critical'}`,
    description: `The BMC of server ${name} (group fra1, BMC ${bmc}) reports ${component.toLowerCase()} ${id} ${value === 2 ? `in Warning health, or gives no health for it ${unreported}` : 'in Critical health'}. Find the part in the BMC's web UI or event log and replace or reseat it in the next maintenance window.`,
  });
  return {
    alert,
    metric,
    forMinutes: 15,
    severity: 'warning',
    exporterLabels,
    healthyValue: 1,
    failing: [failing('fra1-s02', '10.0.0.2', 2), failing('fra1-s03', 'idrac-s03.mgmt', 3)],
  };
}

function unitTests(): PromtoolTestFile {
  return {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: CASES.map((c) => {
      const failingServers = [S2, S3].slice(0, c.failing.length);
      return {
        name: c.alert,
        interval: '1m',
        input_series: [
          { series: series(c.metric, { ...S1, ...c.exporterLabels }), values: `${c.healthyValue}x60` },
          ...failingServers.map((s, i) => ({ series: series(c.metric, { ...s, ...c.exporterLabels }), values: `${c.failing[i]!.value}x60` })),
        ],
        alert_rule_test: [
          { eval_time: `${c.forMinutes - 1}m`, alertname: c.alert, exp_alerts: [] },
          {
            eval_time: `${c.forMinutes + 1}m`,
            alertname: c.alert,
            exp_alerts: failingServers.map((s, i) => ({
              exp_labels: { ...s, ...c.exporterLabels, severity: c.severity, server: s.instance! },
              exp_annotations: { summary: c.failing[i]!.summary, description: c.failing[i]!.description },
            })),
          },
        ],
      };
    }),
  };
}

describe.runIf(promtoolFound || process.env.CI)('hardware alerts under promtool', () => {
  const work = mkdtempSync(join(tmpdir(), 'sightline-rules-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function promtool(...args: string[]) {
    if (!promtoolFound) throw new Error(`${MISSING}. CI must install it (apt-get install prometheus).`);
    return spawnSync('promtool', args, { cwd: work, encoding: 'utf8' });
  }

  it('passes promtool check rules as rendered', () => {
    writeFileSync(join(work, 'rules.yaml'), renderedRuleFile());

    const result = promtool('check', 'rules', 'rules.yaml');

    expect(result.stdout + result.stderr).toContain(
      `SUCCESS: ${(YAML.parse(renderedRuleFile()) as RuleFile).groups.flatMap((g) => g.rules).length} rules found`,
    );
    expect(result.status).toBe(0);
  });

  it('fires each alert for the failing servers only, and only once its for has elapsed (promtool test rules)', () => {
    writeFileSync(join(work, 'rules.yaml'), renderedRuleFile());
    writeFileSync(join(work, 'tests.yaml'), YAML.stringify(unitTests()));

    const result = promtool('test', 'rules', 'tests.yaml');

    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('unit-tests every alert of the rule file', () => {
    expect(CASES.map((c) => c.alert).sort()).toEqual(alertNames().sort());
  });
});

if (!promtoolFound && !process.env.CI) {
  describe('hardware alerts under promtool', () => {
    it.skip(MISSING, () => {});
  });
}

/** The alerts of the hardware group (the stack's self-monitoring groups have their own tests). */
function alertNames(): string[] {
  return (YAML.parse(renderedRuleFile()) as RuleFile).groups
    .filter((g) => g.name === 'redfish')
    .flatMap((g) => g.rules)
    .flatMap((r) => ('alert' in r ? [r.alert] : []));
}

/**
 * The "Server hardware" dashboard of the Redfish exporters, built with the Grafana foundation SDK. A module of
 * its own because the SDK is heavy to load: `redfish.ts` loads this file only when a stack monitors hardware.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_UID } from './shared/datasources.ts';

/** Options of {@link serverHardwareDashboard}. */
export interface ServerHardwareDashboardOptions {
  /** Uid of the dashboard. */
  readonly uid: string;
  /** PromQL matcher of the series of every exporter group's scrape job, e.g. `job=~"redfish-.+"`. */
  readonly jobs: string;
}

const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UID.prometheus };

/** The dashboard's variables as a matcher: the servers the operator picked. */
const PICKED = 'group=~"$group", instance=~"$server"';

/** Redfish health values as the operator reads them. */
const HEALTH_MAPPING: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: {
    '1': { text: 'OK', color: 'green', index: 0 },
    '2': { text: 'Warning', color: 'orange', index: 1 },
    '3': { text: 'Critical', color: 'red', index: 2 },
  },
};
/**
 * Component health: the exporter also reports 2 for an enabled component whose BMC gives no health (see
 * `COMPONENT_STATE` in redfish.ts), so 2 reads "Warning or not reported".
 */
const COMPONENT_HEALTH_MAPPING: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: { ...HEALTH_MAPPING.options, '2': { text: 'Warning or not reported', color: 'orange', index: 1 } },
};
const POWER_MAPPING: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: { '1': { text: 'On', color: 'green', index: 0 }, '2': { text: 'Off', color: 'red', index: 1 } },
};
const REACHABLE_MAPPING: dashboard.ValueMapping = {
  type: dashboard.MappingType.ValueToText,
  options: { '1': { text: 'Yes', color: 'green', index: 0 }, '0': { text: 'No', color: 'red', index: 1 } },
};

/** The per-component health metrics, with their column title. */
const COMPONENT_HEALTH: ReadonlyArray<readonly [metric: string, title: string]> = [
  ['redfish_processor_health', 'Processors'],
  ['redfish_memory_health', 'Memory'],
  ['redfish_storage_health', 'Storage'],
  ['redfish_drive_health', 'Drives'],
];

/** Every component of the picked servers whose health is not OK. */
const FAILING_COMPONENTS = COMPONENT_HEALTH.map(([metric]) => `${metric}{${PICKED}} > 1`).join(' or ');

function query(expr: string, refId = 'A'): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).refId(refId);
}

/** A number in the overview: green at zero, red above (except the server count). */
function countStat(title: string, expr: string, description: string, width: number, alarming = true): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .withTarget(query(`${expr} or vector(0)`).instant())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(
        alarming
          ? [
              { value: null, color: 'green' },
              { value: 1, color: 'red' },
            ]
          : [{ value: null, color: 'blue' }],
      ),
    )
    .span(width)
    .height(4);
}

/** A row per server, a column per part: the worst health of each kind of component, power and reachability. */
function healthMatrix(jobs: string): table.PanelBuilder {
  const columns: ReadonlyArray<readonly [expr: string, title: string, mapping: dashboard.ValueMapping]> = [
    [`up{${jobs}, ${PICKED}}`, 'BMC reachable', REACHABLE_MAPPING],
    [`redfish_power_state{${PICKED}}`, 'Power', POWER_MAPPING],
    [`redfish_health{${PICKED}}`, 'System', HEALTH_MAPPING],
    ...COMPONENT_HEALTH.map(([metric, title]) => [`${metric}{${PICKED}}`, title, COMPONENT_HEALTH_MAPPING] as const),
  ];
  const panel = new table.PanelBuilder()
    .title('Health matrix')
    .description(
      'One row per server: whether its BMC answers, its power state, and the worst health the BMC reports for the system and for each kind of component.',
    )
    .datasource(DATASOURCE)
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: { instance: 0, group: 1 },
        renameByName: { instance: 'Server', group: 'Group', ...Object.fromEntries(columns.map(([, title], i) => [`Value #${refId(i)}`, title])) },
      },
    })
    .span(24)
    .height(12);
  columns.forEach(([expr, title, mapping], i) => {
    panel.withTarget(query(`max by (instance, group) (${expr})`, refId(i)).instant().format(prometheus.PromQueryFormat.Table));
    panel.overrideByName(title, stateCells(mapping));
  });
  return panel;
}

/** A table column of states: named by the mapping, on the mapping's colour. */
function stateCells(mapping: dashboard.ValueMapping): dashboard.DynamicConfigValue[] {
  return [
    { id: 'mappings', value: [mapping] },
    { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorBackground } },
  ];
}

function refId(index: number): string {
  return String.fromCharCode('A'.charCodeAt(0) + index);
}

/** Every component whose health is not OK, one row each, with the labels that identify it. */
function failingComponents(): table.PanelBuilder {
  return new table.PanelBuilder()
    .title('Failing components')
    .description(
      'Processors, memory modules, storage controllers and drives whose health is Warning (or not reported) or Critical. Find them in the BMC web UI by these ids.',
    )
    .datasource(DATASOURCE)
    .withTarget(query(FAILING_COMPONENTS).instant().format(prometheus.PromQueryFormat.Table))
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, job: true },
        indexByName: { instance: 0, group: 1, __name__: 2 },
        renameByName: { instance: 'Server', group: 'Group', __name__: 'Metric', Value: 'Health' },
      },
    })
    .overrideByName('Health', stateCells(COMPONENT_HEALTH_MAPPING))
    .noValue('No failing component')
    .span(24)
    .height(8);
}

function stateTimeline(title: string, description: string, expr: string, mapping: dashboard.ValueMapping): statetimeline.PanelBuilder {
  return new statetimeline.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .withTarget(query(expr).legendFormat('{{instance}}'))
    .mappings([mapping])
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .span(12)
    .height(10);
}

function scrapeTimeseries(title: string, description: string, expr: string, legend: string, unit: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .withTarget(query(expr).legendFormat(legend))
    .unit(unit)
    .min(0)
    .span(12)
    .height(8);
}

/** The "Server hardware" dashboard: which server is failing, what part of it, and whether the BMCs can be read. */
export function serverHardwareDashboard({ uid, jobs }: ServerHardwareDashboardOptions): dashboard.Dashboard {
  const variable = (name: string, label: string, expr: string) =>
    new dashboard.QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query(expr)
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  return new dashboard.DashboardBuilder('Server hardware')
    .uid(uid)
    .description('Health of the bare-metal servers as their BMCs report it through Redfish.')
    .tags(['sightline', 'hardware', 'redfish'])
    .readonly()
    .refresh('1m')
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .withVariable(variable('group', 'Group', `label_values(up{${jobs}}, group)`))
    .withVariable(variable('server', 'Server', `label_values(up{${jobs}, group=~"$group"}, instance)`))
    .withRow(new dashboard.RowBuilder('Overview'))
    .withPanel(countStat('Servers', `count(up{${jobs}, ${PICKED}})`, 'Servers in the inventory of the selected groups.', 4, false))
    .withPanel(
      countStat('BMC not readable', `count(up{${jobs}, ${PICKED}} == 0)`, 'Servers whose last BMC walk failed: their hardware is not monitored.', 5),
    )
    .withPanel(countStat('Unhealthy systems', `count(redfish_health{${PICKED}} > 1)`, 'Systems whose overall health is Warning or Critical.', 5))
    .withPanel(
      countStat(
        'Failing components',
        `count(${FAILING_COMPONENTS})`,
        'Processors, memory modules, storage controllers and drives whose health is not OK.',
        5,
      ),
    )
    .withPanel(countStat('Powered off', `count(redfish_power_state{${PICKED}} == 2)`, 'Systems the BMC reports powered off.', 5))
    .withRow(new dashboard.RowBuilder('Servers'))
    .withPanel(healthMatrix(jobs))
    .withPanel(failingComponents())
    .withPanel(
      stateTimeline('System health', 'Overall health of each system over time.', `max by (instance) (redfish_health{${PICKED}})`, HEALTH_MAPPING),
    )
    .withPanel(
      stateTimeline('Power state', 'Power state of each system over time.', `max by (instance) (redfish_power_state{${PICKED}})`, POWER_MAPPING),
    )
    .withRow(new dashboard.RowBuilder('Scrapes'))
    .withPanel(
      scrapeTimeseries(
        'BMC walk duration',
        "How long each BMC walk takes; it fails at the group's scrape timeout.",
        `scrape_duration_seconds{${jobs}, ${PICKED}}`,
        '{{instance}}',
        's',
      ),
    )
    .withPanel(
      scrapeTimeseries(
        'Failed BMC walks',
        'Servers whose BMC walk fails, per group.',
        `count by (group) (up{${jobs}, ${PICKED}} == 0)`,
        '{{group}}',
        'short',
      ),
    )
    .build();
}

/**
 * Every rendered alertmanager.yml under the real Alertmanager v0.35.0 code: `amtool check-config` loads it as
 * Alertmanager would, and `amtool config routes test` walks the route tree for a critical hardware alert and a
 * warning.
 *
 * amtool is $AMTOOL, else the one `npm run components` built (the pinned release, in the components cache), else
 * the one on the PATH.
 * Without it these checks are skipped with a message, except in CI (`CI` set), where a missing amtool fails the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import type { ValuesInput } from '../charts/values.ts';
import { componentPath } from '../scripts/components.ts';
import { receiversOf, ROUTED_VALUES } from './routing.ts';
import { environments, render } from './support.ts';

const AMTOOL = process.env.AMTOOL ?? (existsSync(componentPath('amtool')) ? componentPath('amtool') : 'amtool');
const amtoolFound = spawnSync(AMTOOL, ['--version']).status === 0;
const MISSING = `amtool is not installed (${AMTOOL}): the Alertmanager configs were not checked`;
if (!amtoolFound && !process.env.CI) console.warn(`amtool.test.ts: ${MISSING}; skipping amtool checks.`);

/** The default stack, each environment, and a fixture with receivers of every kind. */
const STACKS: ReadonlyArray<readonly [string, ValuesInput]> = [
  ['the default stack', {}],
  ...environments(),
  ['receivers of every kind', ROUTED_VALUES],
];

/** A critical hardware alert and a warning about the same server, with the labels Prometheus sends. */
const CRITICAL = {
  alertname: 'RedfishSystemHealthCritical',
  severity: 'critical',
  server: 'fra1-s01',
  instance: 'fra1-s01',
  job: 'redfish-fra1',
  cluster: 'prod-eu-1',
};
const WARNING = { ...CRITICAL, alertname: 'RedfishDriveUnhealthy', severity: 'warning' };

function configText(values: ValuesInput): string {
  return render(values).find('ConfigMap', 'alertmanager-config').data['alertmanager.yml'];
}

describe.runIf(amtoolFound || process.env.CI)('Alertmanager configs under amtool', () => {
  const work = mkdtempSync(join(tmpdir(), 'sightline-amtool-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function amtool(...args: string[]) {
    if (!amtoolFound) throw new Error(`${MISSING}. CI must build it (npm run components -- alertmanager).`);
    return spawnSync(AMTOOL, args, { cwd: work, encoding: 'utf8' });
  }

  /** Receivers amtool routes `labels` to, as its comma-separated answer. */
  function routesTest(file: string, labels: Record<string, string>, expected: readonly string[]) {
    return amtool(
      'config',
      'routes',
      'test',
      `--config.file=${file}`,
      `--verify.receivers=${expected.join(',')}`,
      ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    );
  }

  describe.each(STACKS)('%s', (name, values) => {
    const file = join(work, `${name.replace(/\W+/g, '-')}.yml`);
    const text = configText(values);
    const route = YAML.parse(text).route;

    it('passes amtool check-config', () => {
      writeFileSync(file, text);

      const result = amtool('check-config', file);

      expect(result.stdout + result.stderr).toContain('SUCCESS');
      expect(result.status).toBe(0);
    });

    it('routes a critical hardware alert and a warning where the TypeScript model of the route tree says', () => {
      writeFileSync(file, text);
      for (const labels of [CRITICAL, WARNING]) {
        const result = routesTest(file, labels, receiversOf(route, labels));
        expect(result.stdout.trim(), labels.alertname).toBe(receiversOf(route, labels).join(','));
        expect(result.status, result.stderr).toBe(0);
      }
    });
  });

  describe('the production environment', () => {
    const [, production] = environments().find(([file]) => file === 'environments/production.yaml')!;
    const file = join(work, 'production-routes.yml');
    const severities = production.alertmanager!.route!.severities!;

    it('pages the on-call and tells the team chat of a critical hardware alert, and sends a warning to the chat only', () => {
      writeFileSync(file, configText(production));

      expect(severities.critical).toEqual(['oncall-pagerduty', 'platform-slack']);
      expect(routesTest(file, CRITICAL, severities.critical!).status).toBe(0);
      expect(routesTest(file, WARNING, severities.warning!).status).toBe(0);
    });

    it('fails the route test when the critical route is gone', () => {
      const withoutCritical = {
        ...production,
        alertmanager: { ...production.alertmanager, route: { ...production.alertmanager!.route, severities: { warning: severities.warning! } } },
      };
      writeFileSync(file, configText(withoutCritical));

      const result = routesTest(file, CRITICAL, severities.critical!);

      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('platform-email');
    });
  });
});

if (!amtoolFound && !process.env.CI) {
  describe('Alertmanager configs under amtool', () => {
    it.skip(MISSING, () => {});
  });
}

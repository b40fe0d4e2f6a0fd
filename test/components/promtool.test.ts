/**
 * promtool 3.14, the release the stack runs, on every rendered Prometheus config: `check config` with the rule
 * and target files laid out as the pod mounts them (Kubernetes discovery included), and `check rules` on every
 * rule file. The alert unit tests of test/rules.test.ts run in this tier too, under the same promtool.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readInKubectlOrder, ROOT } from '../delivery.ts';
import { describeWithComponents, layOutPrometheus, stackFolders, type PrometheusLayout } from './support.ts';

describeWithComponents('promtool 3.14 on the rendered Prometheus configs', ['promtool'], (bin) => {
  it('is the pinned release, and the promtool test/rules.test.ts runs in this tier', () => {
    expect(spawnSync(bin('promtool'), ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^promtool, version 3\.14\.0 /);
    expect(spawnSync('promtool', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^promtool, version 3\.14\.0 /);
  });

  describe.each(stackFolders())('%s', (folder) => {
    const layout: PrometheusLayout = layOutPrometheus(readInKubectlOrder(join(ROOT, folder)).map((a) => a.object));
    afterAll(() => layout.remove());

    it('passes promtool check config, rule files and discovery files included', () => {
      const result = spawnSync(bin('promtool'), ['check', 'config', layout.configFile], { encoding: 'utf8' });

      expect(result.stdout + result.stderr).toContain(`SUCCESS: ${layout.configFile} is valid prometheus config file syntax`);
      expect(result.status, result.stdout + result.stderr).toBe(0);
    });

    it('passes promtool check rules', () => {
      expect(layout.ruleFiles.length).toBeGreaterThan(0);
      const result = spawnSync(bin('promtool'), ['check', 'rules', ...layout.ruleFiles], { encoding: 'utf8' });

      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain('FAILED');
    });
  });
});

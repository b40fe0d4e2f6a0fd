/**
 * Puts the built promtool 3.14 first on the PATH, so that test/rules.test.ts (the alert-rule unit tests that
 * `npm test` runs with whatever promtool the machine has) runs under the pinned release in this tier.
 */
import { existsSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { componentPath } from '../../scripts/components.ts';

const promtool = componentPath('promtool');
if (existsSync(promtool)) process.env['PATH'] = [dirname(promtool), process.env['PATH']].join(delimiter);

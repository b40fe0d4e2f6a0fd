/**
 * Stops on a Node older than the one Sightline needs, with one line naming it, before anything else loads.
 *
 * Plain JavaScript, so that an old Node can run it: Node 20 cannot even load a `.ts` file, and fails with
 * ERR_UNKNOWN_FILE_EXTENSION. The npm scripts and cdk8s.yaml preload it (`node --import ./cli/require-node.mjs
 * main.ts`), and vitest.config.ts calls it. The version needed is the one place that states it: `engines` in
 * package.json (which `npm ci` enforces through `engine-strict` in .npmrc).
 */
import { readFileSync } from 'node:fs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const needed = /^>=(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(engines.node);
if (!needed)
  throw new Error(`package.json engines.node: "${engines.node}" is not of the form >=<major>[.<minor>[.<patch>]], which cli/require-node.mjs reads`);

/** The oldest Node version Sightline runs on, as [major, minor, patch]. */
export const NODE_MINIMUM = needed.slice(1, 4).map((n) => Number(n ?? 0));

const running = process.versions.node.split('.').map(Number);
// The first part that differs decides; equal versions are new enough.
const differs = NODE_MINIMUM.findIndex((part, i) => running[i] !== part);
const older = differs >= 0 && running[differs] < NODE_MINIMUM[differs];
if (older) {
  process.stderr.write(`Sightline needs Node ${NODE_MINIMUM.join('.')} or newer; this is Node ${process.versions.node}.\n`);
  process.exit(1);
}

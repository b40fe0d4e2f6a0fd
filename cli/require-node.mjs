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
const needed = /^>=(\d+)$/.exec(engines.node);
if (!needed) throw new Error(`package.json engines.node: "${engines.node}" is not of the form >=<major>, which cli/require-node.mjs reads`);

/** The oldest Node major version Sightline runs on. */
export const NODE_MAJOR = Number(needed[1]);

if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
  process.stderr.write(`Sightline needs Node ${NODE_MAJOR} or newer; this is Node ${process.versions.node}.\n`);
  process.exit(1);
}

/**
 * The README's Scaling table states what each profile requests: this holds the figures to the rendered folders,
 * so that a change of a profile's resources, replicas or claims that leaves the table stale fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, millicores } from '../charts/shared/units.ts';
import { readInKubectlOrder, ROOT } from './delivery.ts';

const GI = 1024 ** 3;

/** The requests, limits and claims of a folder's workloads, the per-node agents (DaemonSets) left out. */
function footprint(dir: string) {
  let cpu = 0;
  let memory = 0;
  let cpuLimit = 0;
  let memoryLimit = 0;
  let claims = 0;
  for (const { object } of readInKubectlOrder(join(ROOT, dir))) {
    const spec = object.spec as any;
    if (object.kind === 'PersistentVolumeClaim') claims += bytes(spec.resources.requests.storage);
    if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') continue;
    const replicas: number = spec.replicas ?? 1;
    for (const c of spec.template.spec.containers) {
      cpu += replicas * millicores(c.resources.requests.cpu);
      memory += replicas * bytes(c.resources.requests.memory);
      cpuLimit += replicas * millicores(c.resources.limits.cpu);
      memoryLimit += replicas * bytes(c.resources.limits.memory);
    }
    for (const t of spec.volumeClaimTemplates ?? []) claims += replicas * bytes(t.spec.resources.requests.storage);
  }
  return { cpu: cpu / 1000, memory: memory / GI, cpuLimit: cpuLimit / 1000, memoryLimit: memoryLimit / GI, claims: claims / GI };
}

/** The Scaling table's row whose first cell names `folder`: its "Requests (limits), claims" cell, parsed. */
function stated(folder: string) {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Scaling\n'), readme.indexOf('\n### Moving from one profile'));
  const row = section.split('\n').find((line) => line.startsWith('|') && line.split('|')[1]!.includes(folder));
  if (row === undefined) throw new Error(`the Scaling table has no row for ${folder}`);
  const cell = row.split('|')[3]!;
  const match = /([\d.]+) CPU, ([\d.]+)Gi \(([\d.]+) CPU, ([\d.]+)Gi\); ([\d.]+)Gi of claims/.exec(cell);
  if (match === null) throw new Error(`the ${folder} row does not read "<cpu> CPU, <mem>Gi (<cpu> CPU, <mem>Gi); <n>Gi of claims": ${cell}`);
  const [cpu, memory, cpuLimit, memoryLimit, claims] = match.slice(1).map(Number) as [number, number, number, number, number];
  return { cpu, memory, cpuLimit, memoryLimit, claims };
}

describe("the README's Scaling table", () => {
  const profiles = [
    ['dev default', '`dist/`', 'dist'],
    ['production', 'environments/production.yaml', 'rendered/production'],
    ['scale-out', 'environments/scale-out.yaml', 'rendered/scale-out'],
    ['external', 'environments/external.yaml', 'rendered/external'],
  ] as const;

  it.each(profiles)('states what the %s profile requests, as rendered (to the precision it is written in)', (_, folder, dir) => {
    const rendered = footprint(dir);
    const table = stated(folder);
    // Written to one decimal at most: the rendered figure must round to it.
    expect(table.cpu).toBeCloseTo(rendered.cpu, 1);
    expect(table.memory).toBeCloseTo(rendered.memory, 0);
    expect(table.cpuLimit).toBeCloseTo(rendered.cpuLimit, 1);
    expect(table.memoryLimit).toBeCloseTo(rendered.memoryLimit, 0);
    expect(table.claims).toBe(rendered.claims);
  });
});

/**
 * Every rendered container starts the program its image means to run. Kubernetes `command` replaces an
 * image's ENTRYPOINT and `args` its CMD: on an image without an ENTRYPOINT, `args` alone make the runtime
 * execute the first flag as the program. What each image runs is recorded in charts/versions.ts, read from
 * its upstream Dockerfile; these checks run over every container of every committed output folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_IMAGE, DEMO_IMAGE_PROCESS, IMAGE_PROCESSES, IMAGES, type ImageProcess } from '../charts/versions.ts';
import { readInKubectlOrder, ROOT, stackFolders } from './delivery.ts';
import { podSpec, render, HARDWARE_VALUES, type K8sObject } from './support.ts';

/** Every image recorded in versions.ts, with what it runs. */
const RECORDED: ReadonlyMap<string, ImageProcess> = new Map([
  ...Object.values(IMAGE_PROCESSES).map((p): [string, ImageProcess] => [p.image, p]),
  [`${DEMO_IMAGE.repository}:${DEMO_IMAGE.tag}`, { image: `${DEMO_IMAGE.repository}:${DEMO_IMAGE.tag}`, ...DEMO_IMAGE_PROCESS }],
]);

interface RenderedContainer {
  readonly where: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
}

/** Every container and init container of the workloads among `objects`. */
function containersOf(objects: readonly K8sObject[], folder: string): RenderedContainer[] {
  return objects
    .filter((o) => o.spec?.template?.spec)
    .flatMap((o) => {
      const spec = podSpec(o);
      return [...(spec.initContainers ?? []), ...spec.containers].map((c: RenderedContainer & { name: string }) => ({
        where: `${folder}: ${o.kind} ${o.metadata.namespace}/${o.metadata.name} container ${c.name}`,
        image: c.image,
        command: c.command,
        args: c.args,
      }));
    });
}

/** Why a container would not start the program its image means to run; empty when it would. */
function startProblems(containers: readonly RenderedContainer[]): string[] {
  return containers.flatMap((c) => {
    const recorded = RECORDED.get(c.image);
    if (recorded === undefined) return [`${c.where}: image ${c.image} is not recorded in charts/versions.ts`];
    if (c.args !== undefined && c.command === undefined && recorded.entrypoint === undefined) {
      return [
        `${c.where}: sets args without command, but ${c.image} has no ENTRYPOINT (its CMD ${JSON.stringify(recorded.cmd)} would be replaced by the args)`,
      ];
    }
    return [];
  });
}

describe('the pinned images', () => {
  it('record, for every image in versions.ts, what its Dockerfile runs and where that was read', () => {
    for (const [key, image] of Object.entries(IMAGES)) {
      const recorded = IMAGE_PROCESSES[key as keyof typeof IMAGES];
      expect(recorded.image).toBe(image);
      expect(recorded.entrypoint ?? recorded.cmd, `${key} runs nothing`).toBeDefined();
      expect(recorded.source).not.toBe('');
    }
  });

  it("record the demo image's ENTRYPOINT exactly as services/hello-app/Dockerfile states it", () => {
    const dockerfile = readFileSync(join(ROOT, 'services/hello-app/Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];

    expect(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT').toBeDefined();
    expect(DEMO_IMAGE_PROCESS.entrypoint).toEqual(JSON.parse(entrypoint ?? '[]'));
  });

  it('include the Redfish exporter as an image without ENTRYPOINT, its binary as CMD', () => {
    expect(IMAGE_PROCESSES.redfishExporter.entrypoint).toBeUndefined();
    expect(IMAGE_PROCESSES.redfishExporter.cmd).toEqual(['/opt/app-root/redfish_exporter']);
  });
});

for (const folder of stackFolders()) {
  describe(`every container of ${folder}/`, () => {
    const containers = containersOf(
      readInKubectlOrder(join(ROOT, folder)).map((a) => a.object),
      folder,
    );

    it('runs an image recorded in versions.ts, and sets command wherever its image has no ENTRYPOINT and it sets args', () => {
      expect(containers.length).toBeGreaterThan(0);
      expect(startProblems(containers)).toEqual([]);
    });
  });
}

describe('the Redfish exporter container', () => {
  it('names the exporter binary as its command, and its flags as args', () => {
    const r = render(HARDWARE_VALUES);
    const [exporter] = containersOf(
      r.all('DaemonSet').filter((d) => d.metadata.name.startsWith('redfish-')),
      'test',
    );
    expect(exporter!.command).toEqual(['/opt/app-root/redfish_exporter']);
    expect(exporter!.args).toEqual(expect.arrayContaining([expect.stringMatching(/^-config\.file=/)]));
  });
});

describe('the start check', () => {
  const exporter = IMAGE_PROCESSES.redfishExporter.image;

  it('fails when a container sets args without command on an image without ENTRYPOINT', () => {
    expect(startProblems([{ where: 'x', image: exporter, args: ['-config.file=/c.yml'] }])).toEqual([
      expect.stringContaining('sets args without command'),
    ]);
  });

  it('fails when a container runs an image versions.ts does not record', () => {
    expect(startProblems([{ where: 'x', image: 'docker.io/library/busybox:1.37' }])).toEqual([expect.stringContaining('not recorded')]);
  });

  it('passes args alone on an image with an ENTRYPOINT', () => {
    expect(startProblems([{ where: 'x', image: IMAGES.prometheus, args: ['--config.file=/p.yml'] }])).toEqual([]);
  });
});

describe('the production environment', () => {
  it('runs no image that no registry serves: the demo, built locally, is off', () => {
    const containers = containersOf(
      readInKubectlOrder(join(ROOT, 'rendered', 'production')).map((a) => a.object),
      'rendered/production',
    );
    expect(containers.filter((c) => c.image.startsWith('localhost/')).map((c) => c.where)).toEqual([]);
  });
});

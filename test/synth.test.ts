/**
 * The synth command line: what it renders where, its help, and how it refuses a command it cannot run.
 * (What is rendered is checked per chart; bad values in values.test.ts; the committed outputs in delivery.test.ts.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli, USAGE } from '../cli/command.ts';
import { synth } from '../main.ts';
import { tempDir, valuesFile } from './cli.ts';

/** Runs the command line in this process, returning its exit code and what it wrote. */
function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const status = runCli(args, synth);
  const written = (spy: typeof stdout) => spy.mock.calls.map((call) => String(call[0])).join('');
  return { status, stdout: written(stdout), stderr: written(stderr) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

// That `node main.ts` renders, in a process of its own, byte for byte the committed dist/: values.test.ts.
describe('node main.ts', () => {
  it('prints its usage for --help', () => {
    const run = cli('--help');

    expect(run.status).toBe(0);
    expect(run.stdout).toBe(USAGE);
    expect(USAGE).toMatch(/--values FILE.*--out DIR/);
  });

  it('fails when given an unknown flag, saying which and how it is used', () => {
    const run = cli('--valeus', 'prod.yaml');

    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`Unknown option '--valeus'\n\n${USAGE}`);
  });
});

describe('the Argo CD output', () => {
  it('goes next to the output folder, and goes away when the values drop the argocd section', () => {
    const dir = tempDir();
    const out = join(dir, 'dist');
    const gitops = valuesFile(dir, 'argocd:\n  repoURL: https://git.example.com/x.git\n  path: dist\n', 'gitops.yaml');

    expect(cli('--values', gitops, '--out', out).status).toBe(0);
    expect(readdirSync(`${out}-argocd`)).toEqual(['argocd.k8s.yaml']);

    expect(cli('--out', out).status).toBe(0);
    expect(existsSync(`${out}-argocd`)).toBe(false);
  });
});

describe('npm run synth --all', () => {
  it('fails when given an output folder, since it renders every committed one', () => {
    const run = cli('--all', '--out', join(tempDir(), 'dist'));

    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--all renders every committed output');
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to the frontend on port 5001, calling a backend on localhost:5002, as service hello-app', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      role: 'frontend',
      port: 5001,
      backendUrl: new URL('http://localhost:5002/'),
      defaultServiceName: 'hello-app',
      drainTimeoutMs: 12_000,
      flushTimeoutMs: 10_000,
    });
  });

  it('names the backend role hello-backend by default', () => {
    expect(loadConfig({ ROLE: 'backend' }).defaultServiceName).toBe('hello-backend');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ ROLE: '', PORT: ' ', BACKEND_URL: '' })).toEqual(loadConfig({}));
  });

  it('keeps a path prefix of BACKEND_URL by ending it with a slash', () => {
    expect(loadConfig({ BACKEND_URL: 'http://gateway:8080/hello' }).backendUrl.href).toBe('http://gateway:8080/hello/');
  });

  it('accepts port 0, which lets the kernel pick a free port', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  it('fails when PORT is not an integer from 0 to 65535', () => {
    expect(problemsOf({ PORT: '65536' })).toEqual(['PORT: "65536" is not a port; expected an integer from 0 to 65535']);
    expect(problemsOf({ PORT: '80a' })).toEqual(['PORT: "80a" is not a port; expected an integer from 0 to 65535']);
  });

  it('fails when BACKEND_URL is not an absolute http(s) URL', () => {
    expect(problemsOf({ BACKEND_URL: 'hello-backend:5001' })).toEqual([
      'BACKEND_URL: "hello-backend:5001" is not an absolute http:// or https:// URL',
    ]);
  });

  it('reads the shutdown timeouts from DRAIN_TIMEOUT_MS and FLUSH_TIMEOUT_MS', () => {
    expect(loadConfig({ DRAIN_TIMEOUT_MS: '0', FLUSH_TIMEOUT_MS: '2500' })).toMatchObject({ drainTimeoutMs: 0, flushTimeoutMs: 2500 });
  });

  it('fails when a shutdown timeout is not an integer number of milliseconds up to 600000', () => {
    expect(problemsOf({ DRAIN_TIMEOUT_MS: '5s', FLUSH_TIMEOUT_MS: '600001' })).toEqual([
      'DRAIN_TIMEOUT_MS: "5s" is not a timeout; expected an integer number of milliseconds from 0 to 600000',
      'FLUSH_TIMEOUT_MS: "600001" is not a timeout; expected an integer number of milliseconds from 0 to 600000',
    ]);
  });

  it('fails with every problem at once when several variables are wrong', () => {
    expect(problemsOf({ ROLE: 'db', PORT: '-1' })).toEqual([
      'ROLE: "db" is not a role; expected one of "frontend", "backend"',
      'PORT: "-1" is not a port; expected an integer from 0 to 65535',
    ]);
  });
});

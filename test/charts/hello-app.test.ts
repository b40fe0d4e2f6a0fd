import { describe, expect, it } from 'vitest';
import { HelloApp } from '../../charts/hello-app.ts';
import { container } from '../support.ts';
import { DEFAULTS, expectServes, freshApp, RecordingGrafanaHub, stubEndpoint, synthChart } from './alone.ts';

describe('hello-app, built alone', () => {
  const app = freshApp();
  const otlp = stubEndpoint(app, 'collector', 4318);
  const grafana = new RecordingGrafanaHub();
  const { enabled: _, image: __, ...values } = DEFAULTS.helloApp;
  const c = synthChart(new HelloApp(app, 'hello-app', { namespace: 'obs', ...values, image: 'hello:1', otlpEndpoint: otlp, grafana }));
  const env = (name: string) => Object.fromEntries(container(c.find('Deployment', name), 'hello-app').env.map((e: any) => [e.name, e.value]));

  it('serves the frontend and the backend each through its own Service', () => {
    expectServes(c.find('Service', 'hello-app'), c.find('Deployment', 'hello-app'));
    expectServes(c.find('Service', 'hello-backend'), c.find('Deployment', 'hello-backend'));
  });

  it('sends both tiers to the OTLP endpoint it was given, and the frontend to the backend Service', () => {
    expect(env('hello-app').OTEL_EXPORTER_OTLP_ENDPOINT).toBe(otlp.url());
    expect(env('hello-backend').OTEL_EXPORTER_OTLP_ENDPOINT).toBe(otlp.url());
    expect(env('hello-app').BACKEND_URL).toBe('http://hello-backend.obs.svc.cluster.local:5001');
  });

  it('contributes its RED dashboard to the Grafana hub', () => {
    expect(grafana.dashboards.map((d) => d.uid)).toEqual(['sightline-demo-red']);
  });
});

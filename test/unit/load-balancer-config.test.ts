import { parseConfigText } from '../../src/config/load';
import { ValidationError } from '../../src/config/errors';
import { parseUpstream, renderUpstream } from '../../src/activities/systems/load-balancer/nginx';
import { metricsOf, promQueries } from '../../src/config/sections/metric-sources';

const parse = (cfg: unknown) => parseConfigText(JSON.stringify(cfg), 'opsflow.config.json');
const error = (cfg: unknown) => {
  try {
    parse(cfg);
    return '';
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
};

describe('loadBalancers and metricSources config sections', () => {
  test('valid sections of every kind parse with their defaults', () => {
    const cfg = parse({
      loadBalancers: {
        edge: { type: 'haproxy', runtimeApi: { socket: '/run/haproxy/admin.sock' }, backend: 'app' },
        web: {
          type: 'nginx',
          upstreamFile: '/etc/nginx/opsflow/app.conf',
          servers: { blue: '10.0.0.1:80', green: '10.0.0.2:80' },
        },
        api: { type: 'http-api', url: 'https://lb.example/', token: { env: 'LB_API_TOKEN' } },
      },
      metricSources: {
        prom: { type: 'prometheus', url: 'http://prom:9090', queries: { p95Ms: null } },
        probe: { type: 'probe', url: 'http://edge/' },
        host: { type: 'host' },
      },
    });
    expect(cfg.loadBalancers.edge).toMatchObject({ timeoutMs: 5000 });
    expect(cfg.loadBalancers.web).toMatchObject({ binary: 'nginx', sudo: false });
    expect(cfg.loadBalancers.api).toMatchObject({ servers: ['old_system', 'new_system'] });
    expect(metricsOf(cfg.metricSources.prom)).toEqual(['errorRatePercent', 'responseTimeMs']); // p95 dropped
    expect(metricsOf(cfg.metricSources.probe)).toEqual(['errorRatePercent', 'responseTimeMs', 'p95Ms', 'p99Ms']);
    expect(promQueries(cfg.metricSources.prom as any).errorRatePercent).toMatch(/code=~"5\.\."/);
  });

  test('bad sections are refused naming the field', () => {
    expect(error({ loadBalancers: { edge: { type: 'haproxy', runtimeApi: { socket: '/s' } } } })).toMatch(
      /loadBalancers\.edge\.backend/,
    );
    expect(error({ loadBalancers: { api: { type: 'http-api', url: 'https://lb', token: 'plaintext' } } })).toMatch(
      /loadBalancers\.api\.token/,
    );
    expect(
      error({ loadBalancers: { web: { type: 'nginx', upstreamFile: '/f', servers: { blue: 'no-port' } } } }),
    ).toMatch(/loadBalancers\.web\.servers\.blue: host:port/);
    expect(error({ loadBalancers: { x: { type: 'f5' } } })).toMatch(/loadBalancers\.x\.type/);
    expect(
      error({ metricSources: { probe: { type: 'probe', url: 'http://x/', requests: 5, minRequests: 10 } } }),
    ).toMatch(/metricSources\.probe\.minRequests: minRequests must not exceed requests/);
    expect(
      error({ metricSources: { prom: { type: 'prometheus', url: 'http://p', queries: { latency: 'x' } } } }),
    ).toMatch(/metricSources\.prom\.queries/);
  });
});

describe('nginx upstream include', () => {
  const cfg = parse({
    loadBalancers: {
      web: { type: 'nginx', upstreamFile: '/f', servers: { blue: '10.0.0.1:80', green: '10.0.0.2:80' } },
    },
  }).loadBalancers.web as any;
  test('renders weights, `down` for 0 %, and reads back what it wrote', () => {
    const text = renderUpstream(cfg, { blue: { weight: 100, down: false }, green: { weight: 0, down: false } });
    expect(text).toContain('server 10.0.0.1:80 weight=100; # blue');
    expect(text).toContain('server 10.0.0.2:80 weight=1 down; # green');
    expect(parseUpstream(cfg, text)).toEqual({ blue: { weight: 100, down: false }, green: { weight: 1, down: true } });
  });
});

import { alertToIncident, parseAlertmanagerPayload, AlertPayloadError } from '../../src/client/alert-receiver/alertmanager';

const payload = (alerts: unknown[]) => ({
  version: '4',
  groupKey: 'g',
  status: 'firing',
  receiver: 'opsflow',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://am',
  alerts,
});
const alert = (labels: Record<string, string>, annotations: Record<string, string> = {}, fingerprint = 'abc123') => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', ...labels },
  annotations,
  startsAt: '2026-01-01T00:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prom/graph',
  fingerprint,
});

describe('Alertmanager payload → incident input', () => {
  test('type, services, metrics and title come from labels and annotations', () => {
    const [m] = parseAlertmanagerPayload(payload([alert({ services: 'web-server, api', severity: 'critical' }, { summary: 'errors at 60%', error_rate: '60', response_time_ms: '900' })]));
    expect(m.workflowId).toBe('incident-abc123');
    expect(m.input).toMatchObject({
      title: 'errors at 60%',
      type: 'high_error_rate',
      services: ['web-server', 'api'],
      metrics: { errorRate: 60, responseTimeMs: 900 },
      source: 'alertmanager',
      fingerprint: 'abc123',
      generatorUrl: 'http://prom/graph',
    });
    expect(m.input.labels.severity).toBe('critical');
  });

  test('incident_type and opsflow_severity steer it', () => {
    const m = alertToIncident(alert({ incident_type: 'database_down', opsflow_severity: 'P1' }) as any, 0);
    expect(m.input.type).toBe('database_down');
    expect(m.input.severity).toBe('P1');
  });

  test.each([
    ['wrong version', { ...payload([alert({})]), version: '3' }, /version/],
    ['no alerts', payload([]), /alerts/],
    ['no alertname', payload([{ ...alert({}), labels: {} }]), /alerts\.0\.labels: an alertname label/],
    ['bad fingerprint', payload([alert({}, {}, '../../etc')]), /alerts\.0\.fingerprint/],
    ['non-numeric metric', payload([alert({}, { cpu_percent: 'high' })]), /alerts\.0\.annotations\.cpu_percent: a number/],
    ['unknown severity', payload([alert({ opsflow_severity: 'P9' })]), /alerts\.0\.labels\.opsflow_severity/],
    ['bad service name', payload([alert({ service: 'web server!' })]), /alerts\.0\(as incident\)\.services\.0/],
  ])('%s is refused, naming the field', (_n, body, reason) => {
    expect(() => parseAlertmanagerPayload(body)).toThrow(AlertPayloadError);
    expect(() => parseAlertmanagerPayload(body)).toThrow(reason);
  });
});

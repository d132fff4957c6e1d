import {
  alertToIncident,
  parseAlertmanagerPayload,
  AlertPayloadError,
} from '../../src/client/alert-receiver/alertmanager';

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
    const [m] = parseAlertmanagerPayload(
      payload([
        alert(
          { services: 'web-server, api', severity: 'critical' },
          { summary: 'errors at 60%', error_rate: '60', response_time_ms: '900' },
        ),
      ]),
    );
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
    ['no labels', payload([{ ...alert({}), labels: undefined }]), /alerts\.0\.labels/],
    ['no startsAt', payload([{ ...alert({}), startsAt: undefined }]), /alerts\.0\.startsAt/],
    ['no fingerprint', payload([{ ...alert({}), fingerprint: undefined }]), /alerts\.0\.fingerprint/],
    ['bad fingerprint', payload([alert({}, {}, '../../etc')]), /alerts\.0\.fingerprint/],
    ['not an object', 'hello', /\(root\)/],
  ])('%s is not an Alertmanager payload: refused, naming the field', (_n, body, reason) => {
    expect(() => parseAlertmanagerPayload(body)).toThrow(AlertPayloadError);
    expect(() => parseAlertmanagerPayload(body)).toThrow(reason);
  });
});

describe('whatever Alertmanager sends is accepted: sizes are cut for display, kept whole as evidence', () => {
  const long = (n: number, c = 'x') => c.repeat(n);

  test('over-long label value, label name, summary and description: one incident, every label, the whole text in the evidence', () => {
    const value = `v${long(4811)}`;
    const name = `n${long(149)}`;
    const summary = `s${long(299)}`;
    const description = `d${long(9999)}`;
    const [m] = parseAlertmanagerPayload(
      payload([alert({ [name]: 'short', big: value, env: 'prod' }, { summary, description })]),
    );
    expect(m.workflowId).toBe('incident-abc123');
    expect(m.input.fingerprint).toBe('abc123');

    // display: cut to the limits, with the marker saying how long the original was
    expect(m.input.title).toHaveLength(200);
    expect(m.input.title).toMatch(/^sxx+…\[truncated, 300 chars\]$/);
    expect(m.input.description).toHaveLength(4000);
    expect(m.input.description!.endsWith('…[truncated, 10 000 chars]')).toBe(true);
    expect(m.input.labels.big).toHaveLength(500);
    expect(m.input.labels.big.endsWith('…[truncated, 4 812 chars]')).toBe(true);
    expect(Object.keys(m.input.labels)).toHaveLength(4); // alertname, the long name, big, env
    const cutName = Object.keys(m.input.labels).find((k) => k.startsWith('n'))!;
    expect(cutName).toHaveLength(100);
    expect(cutName.endsWith('…[truncated, 150 chars]')).toBe(true);
    expect(m.input.labels[cutName]).toBe('short');
    expect(m.input.labels.env).toBe('prod');

    // evidence: everything, whole
    expect(m.input.alert!.labels).toEqual({ alertname: 'HighErrorRate', [name]: 'short', big: value, env: 'prod' });
    expect(m.input.alert!.annotations).toEqual({ summary, description });
    expect(m.input.alert!.startsAt).toBe('2026-01-01T00:00:00Z');
    expect(m.ignored).toEqual([]);
  });

  test('two long label names with the same beginning stay two labels', () => {
    const [m] = parseAlertmanagerPayload(
      payload([alert({ [`${long(150, 'a')}1`]: 'one', [`${long(150, 'a')}2`]: 'two' })]),
    );
    const values = Object.entries(m.input.labels).filter(([k]) => k.startsWith('aaa'));
    expect(values.map(([, v]) => v).sort()).toEqual(['one', 'two']);
    expect(values.every(([k]) => k.length <= 100)).toBe(true);
  });

  test('a cut never splits a character made of two UTF-16 units', () => {
    const [m] = parseAlertmanagerPayload(payload([alert({}, { summary: '😀'.repeat(300) })]));
    expect(m.input.title.length).toBeLessThanOrEqual(200);
    expect(m.input.title).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  test('the incident id comes from the fingerprint alone, whatever the labels', () => {
    const [m] = parseAlertmanagerPayload(
      payload([alert({ [long(5000, 'k')]: long(100_000) }, {}, '0123456789abcdef')]),
    );
    expect(m.workflowId).toBe('incident-0123456789abcdef');
  });

  test('text past the evidence bound is cut there too, with the marker: nothing vanishes silently', () => {
    const [m] = parseAlertmanagerPayload(payload([alert({}, { description: long(70_000) })]));
    expect(m.input.alert!.annotations.description).toHaveLength(64_000);
    expect(m.input.alert!.annotations.description.endsWith('…[truncated, 70 000 chars]')).toBe(true);
  });

  test.each([
    [
      'no alertname',
      { ...alert({}), labels: { job: 'x' } },
      (m: any) => expect(m.input).toMatchObject({ type: 'alert', title: 'alert abc123' }),
      undefined,
    ],
    [
      'non-numeric metric',
      alert({}, { cpu_percent: 'high' }),
      (m: any) => expect(m.input.metrics).toEqual({}),
      /annotations\.cpu_percent "high": not a number/,
    ],
    [
      'unknown severity',
      alert({ opsflow_severity: 'P9' }),
      (m: any) => expect(m.input.severity).toBeUndefined(),
      /labels\.opsflow_severity "P9"/,
    ],
    [
      'bad service name',
      alert({ services: 'web, web server!' }),
      (m: any) => expect(m.input.services).toEqual(['web']),
      /labels\.services "web server!": not a service name/,
    ],
    [
      'bad incident_type',
      alert({ incident_type: 'Disk Full' }),
      (m: any) => expect(m.input.type).toBe('high_error_rate'),
      /labels\.incident_type "Disk Full"/,
    ],
    [
      'generatorURL not a URL',
      { ...alert({}), generatorURL: '/graph?g0' },
      (m: any) => expect(m.input.generatorUrl).toBeUndefined(),
      /generatorURL "\/graph\?g0": not a URL/,
    ],
  ])('%s: accepted, the unusable steering value ignored and said so', (_n, a, check, note) => {
    const [m] = parseAlertmanagerPayload(payload([a]));
    check(m);
    if (note) {
      expect(m.ignored).toEqual([expect.stringMatching(note)]);
      expect(m.input.alert!.ignored).toEqual(m.ignored);
    } else expect(m.ignored).toEqual([]);
  });
});

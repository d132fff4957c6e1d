import { parseConfigText } from '../../src/config/load';

const parse =
  (readiness: unknown, extra: object = {}) =>
  () =>
    parseConfigText(JSON.stringify({ readiness, ...extra }), 'c.json');

describe('readiness checklist config', () => {
  test('a valid checklist parses with its defaults (14 days, port 443)', () => {
    const cfg = parseConfigText(
      JSON.stringify({
        readiness: { checklists: { shop: { items: [{ id: 'cert', check: 'tls', host: 'shop.example' }] } } },
      }),
      'c.json',
    );
    expect(cfg.readiness.checklists.shop.items[0]).toMatchObject({ port: 443, minDaysValid: 14 });
  });

  test('mistakes are refused naming the field', () => {
    expect(
      parse({ checklists: { shop: { items: [{ id: 'a', check: 'dns', name: 'x', expect: ['not-an-ip'] }] } } }),
    ).toThrow(/readiness\.checklists\.shop\.items\.0\.expect\.0/);
    expect(parse({ checklists: { shop: { items: [{ id: 'a', check: 'tcp', host: 'h' }] } } })).toThrow(
      /readiness\.checklists\.shop\.items\.0\.open: at least one port in open or closed/,
    );
    expect(
      parse({
        checklists: {
          shop: {
            items: [
              { id: 'a', check: 'signOff', description: 'x' },
              { id: 'a', check: 'signOff', description: 'y' },
            ],
          },
        },
      }),
    ).toThrow(/readiness\.checklists\.shop\.items\.1\.id: duplicate item id "a"/);
    expect(parse({ checklists: { shop: { items: [{ id: 'a', check: 'notifier', notifier: 'ops' }] } } })).toThrow(
      /readiness\.checklists\.shop\.items\.0\.notifier: unknown notifier "ops"/,
    );
    expect(
      parse(
        { checklists: { shop: { items: [{ id: 'a', check: 'prometheus', source: 'probe', jobs: ['x'] }] } } },
        { metricSources: { probe: { type: 'host' } } },
      ),
    ).toThrow(/items\.0\.source: metric source "probe" is host, not prometheus/);
    expect(parse({ checklists: { shop: { items: [{ id: 'a', check: 'smoke' }] } } })).toThrow(
      /readiness\.checklists\.shop\.items\.0\.check/,
    );
  });

  test('a backup item names a configured backup set (24 h by default); an unknown set or a bad age is refused naming the field', () => {
    const backups = {
      postgres: { app: { database: 'app' } },
      backups: { nightly: { databases: ['app'], destination: '/var/backups/opsflow' } },
    };
    const item = (extra: object) => ({
      checklists: { shop: { items: [{ id: 'backup', check: 'backup', ...extra }] } },
    });
    const cfg = parse(item({ set: 'nightly' }), backups)();
    expect(cfg.readiness.checklists.shop.items[0]).toEqual({
      id: 'backup',
      check: 'backup',
      set: 'nightly',
      maxAgeHours: 24,
    });
    expect(parse(item({ set: 'weekly' }), backups)).toThrow(
      'readiness.checklists.shop.items.0.set: unknown backup set "weekly"',
    );
    expect(parse(item({ set: 'nightly' }))).toThrow(
      'readiness.checklists.shop.items.0.set: unknown backup set "nightly"',
    );
    expect(parse(item({ set: 'nightly', maxAgeHours: 0 }), backups)).toThrow(
      /readiness\.checklists\.shop\.items\.0\.maxAgeHours/,
    );
    expect(parse(item({ set: 'nightly', within: '1h' }), backups)).toThrow(/readiness\.checklists\.shop\.items\.0/);
  });
});

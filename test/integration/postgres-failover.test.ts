import { Client } from 'pg';
import { remediationActivities } from '../../src/activities/remediation';
import { parseConfigText } from '../../src/config/load';
import { PgReplicaPair } from '../helpers/pg-replication';
import { pgConnection } from '../helpers/services';
import { waitFor } from '../helpers/ports';

/**
 * runbooks §6's failover against a real streaming standby: the primary goes down, the runbook's
 * check sees it, pg_promote() turns the standby into a primary that takes writes, and a second
 * failover leaves it alone.
 */
describe('database failover with pg_promote() on a real standby', () => {
  const pair = new PgReplicaPair();
  let acts: ReturnType<typeof remediationActivities>;
  const query = async (port: number, sql: string) => {
    const c = new Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: 5_000,
    });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    await pair.start();
    acts = remediationActivities(
      parseConfigText(
        JSON.stringify({
          postgres: {
            main: pgConnection,
            primary: { host: '127.0.0.1', port: pair.primaryPort, database: 'postgres', connectTimeoutMs: 2000 },
            replica: { host: '127.0.0.1', port: pair.standbyPort, database: 'postgres', connectTimeoutMs: 2000 },
          },
          incident: { store: { postgres: 'main' } },
        }),
        'test.json',
      ),
    );
  }, 120_000);
  afterAll(() => pair.stop());

  test('the standby replicates, the primary dies, the standby is promoted and takes writes', async () => {
    await query(pair.primaryPort, 'CREATE TABLE orders (id int primary key); INSERT INTO orders VALUES (1), (2)');
    await waitFor('the standby to replay the rows', async () => {
      const rows = await query(pair.standbyPort, 'SELECT count(*)::int AS n FROM orders').catch(() => [{ n: 0 }]);
      return rows[0].n === 2 ? true : undefined;
    });
    expect(await acts.checkPrimaryDatabase('replica')).toMatchObject({ ok: true, inRecovery: true });
    await expect(query(pair.standbyPort, 'INSERT INTO orders VALUES (3)')).rejects.toThrow(/read-only/);

    pair.stopPrimary();
    const down = await acts.checkPrimaryDatabase('primary');
    expect(down.ok).toBe(false);

    const promoted = await acts.failoverDatabase({ replica: 'replica' });
    expect(promoted).toEqual({ method: 'pg_promote', promoted: true, message: 'replica promoted with pg_promote()' });
    expect((await query(pair.standbyPort, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
    await query(pair.standbyPort, 'INSERT INTO orders VALUES (3)');
    expect((await query(pair.standbyPort, 'SELECT count(*)::int AS n FROM orders'))[0].n).toBe(3);

    // a retried failover finds a primary and changes nothing
    expect(await acts.failoverDatabase({ replica: 'replica' })).toMatchObject({ promoted: false });
  });
});

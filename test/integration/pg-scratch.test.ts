import { PgScratch } from '../helpers/pg-scratch';
import { requirePostgres } from '../helpers/services';

/**
 * The test helper's own connections, counted by PostgreSQL: two first uses of a database at once
 * (before the first connect finished) used to open a client each and keep one, leaking its socket
 * (jest then waited on it after the file).
 */
describe('PgScratch connections (real PostgreSQL)', () => {
  const observer = new PgScratch('scratch_obs');
  const sessions = (applicationName: string) =>
    observer.count('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);

  beforeAll(requirePostgres);
  afterAll(() => observer.drop());

  test('two first uses of a database at once share one client, and drop() leaves no session open', async () => {
    const pg = new PgScratch('scratch_race');
    const [a, b] = await Promise.all([pg.client(), pg.client()]);
    expect(await sessions(pg.applicationName)).toBe(1);
    expect(a === b).toBe(true);
    await pg.drop();
    expect(await sessions(pg.applicationName)).toBe(0);
  });
});

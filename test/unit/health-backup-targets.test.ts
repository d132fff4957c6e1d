import { join } from 'node:path';
import { readConfigFile } from '../../src/config/load';
import { healthActivities } from '../../src/activities/health';
import { defaultBackupTargets } from '../../src/activities/health/backup-targets';
import type { ScheduleConfig } from '../../src/config/sections/schedules';

/**
 * A health check with no targets given ages every backup set the config expects copies of: on a
 * fresh install of the example config (its nightly backup paused) that is none, so the first health
 * check of `npm run dev` is not critical for a backup that was never meant to run yet.
 */
describe('the backup sets a health check ages by default', () => {
  const example = readConfigFile(join(__dirname, '../../opsflow.example.yaml'));

  test('the example config: its nightly set is backed up by a paused schedule only, so a bare health check leaves it out', async () => {
    expect(example.schedules!['backup-nightly']).toMatchObject({
      workflow: 'backupWorkflow',
      paused: true,
      input: { set: 'nightly' },
    });
    const plan = await healthActivities(example).planHealthCheck({});
    expect(plan.backups).toEqual([]);
    // naming it checks it: nothing hides a set somebody asks about
    expect((await healthActivities(example).planHealthCheck({ targets: { backups: ['nightly'] } })).backups).toEqual([
      'nightly',
    ]);
  });

  test('its schedule unpaused, or no schedule in the config at all: the set is aged', async () => {
    const unpaused = {
      ...example,
      schedules: { ...example.schedules, 'backup-nightly': { ...example.schedules!['backup-nightly'], paused: false } },
    };
    expect((await healthActivities(unpaused).planHealthCheck({})).backups).toEqual(['nightly']);
    const unscheduled = { ...example, schedules: { 'health-check': example.schedules!['health-check'] } };
    expect((await healthActivities(unscheduled).planHealthCheck({})).backups).toEqual(['nightly']);
  });

  test('a set with one paused and one running schedule is aged; another set is judged by its own schedules', () => {
    const sched = (set: string, paused: boolean): ScheduleConfig => ({
      workflow: 'backupWorkflow',
      cron: ['0 3 * * *'],
      overlap: 'skip',
      paused,
      input: { set },
    });
    const backups = { a: {}, b: {}, c: {} } as never;
    expect(
      defaultBackupTargets({
        backups,
        schedules: { a1: sched('a', true), a2: sched('a', false), b1: sched('b', true) },
      }),
    ).toEqual(['a', 'c']);
  });
});

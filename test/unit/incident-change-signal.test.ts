import { changeSignalInput } from '../../src/domain/incident/change-signal';

describe('what an incident sends a change in flight', () => {
  const sent = { by: 'incident INC-1', reason: 'P1 incident INC-1: checkout down' };
  test('a cutover is aborted with all: every batch moved so far is restored, not only the one in flight', () => {
    expect(changeSignalInput('cutover', 'abort', sent)).toEqual({ ...sent, all: true });
  });
  test('a paused cutover, and a rollout or deploy aborted, get the signal as it is', () => {
    expect(changeSignalInput('cutover', 'pause', sent)).toEqual(sent);
    expect(changeSignalInput('rollout', 'abort', sent)).toEqual(sent);
    expect(changeSignalInput('deploy', 'abort', sent)).toEqual(sent);
  });
});

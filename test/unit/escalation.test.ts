import {
  defaultEscalationPolicy,
  escalationPolicy,
  nextEscalation,
  resolveRecipients,
} from '../../src/domain/incident/escalation';

describe('escalation policy', () => {
  test('levels in order, then exhausted', () => {
    const p = escalationPolicy.parse({ levels: [{ notify: ['on-call'] }, { notify: ['cto'], afterMinutes: 5 }] });
    expect(nextEscalation(p, 0, 15)).toEqual({ level: 1, pass: 0, notify: ['on-call'], waitMinutes: 15 });
    expect(nextEscalation(p, 1, 15)).toEqual({ level: 2, pass: 0, notify: ['cto'], waitMinutes: 5 });
    expect(nextEscalation(p, 2, 15)).toBeUndefined();
  });

  test('repeat goes round the levels again', () => {
    const p = escalationPolicy.parse({ levels: [{ notify: ['a'] }, { notify: ['b'] }], repeat: 1 });
    expect([0, 1, 2, 3].map((d) => nextEscalation(p, d, 30)?.notify[0])).toEqual(['a', 'b', 'a', 'b']);
    expect(nextEscalation(p, 2, 30)?.pass).toBe(1);
    expect(nextEscalation(p, 4, 30)).toBeUndefined();
  });

  test('default policy has two levels', () => {
    expect(nextEscalation(defaultEscalationPolicy, 0, 15)?.notify).toEqual(['on-call', 'ops-lead']);
    expect(nextEscalation(defaultEscalationPolicy, 1, 15)?.notify).toEqual(['ops-lead', 'cto']);
  });

  test('recipients: on-call by rota, roles by contacts, notifiers as named, each once', () => {
    const onCall = { shift: 'night', notify: ['bob-sms'], localTime: '' };
    const contacts = { cto: ['cto-mail'], 'ops-lead': ['ops-mail', 'bob-sms'] };
    expect(
      resolveRecipients(['cto', 'on-call', 'ops-lead', 'business-owner', 'pager'], contacts, onCall, ['slack']),
    ).toEqual(['cto-mail', 'bob-sms', 'ops-mail', 'pager', 'slack']);
  });
});

import { readinessItem, type ReadinessCheckKind } from '../../src/config/sections/readiness';
import { readinessActivityOf, type AutomatedCheck } from '../../src/domain/readiness/checks';

// The config's kinds of item and the domain's table of activities are declared apart (domain does
// not import config), so this is where a kind without its activity, or a stale one, is caught.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const everyKindHasItsActivity: Same<AutomatedCheck, Exclude<ReadinessCheckKind, 'signOff'>> = true;

test('every automated kind of readiness item has the activity that checks it, and only those', () => {
  expect(everyKindHasItsActivity).toBe(true);
  const kinds = readinessItem.options.map((item) => item.shape.check.value).filter((kind) => kind !== 'signOff');
  expect(Object.keys(readinessActivityOf).sort()).toEqual([...kinds].sort());
});

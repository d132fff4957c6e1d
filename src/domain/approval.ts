// Why: a change that must be approved by more than one person, and not by the one who started it
// (change-management's "four eyes"), is said in the input where `approval: true` is said today.
import { z } from 'zod';
import { count, flag } from './fields';

/** `approval: { approvers: 2, forbidStarter: true }`: N distinct people, the starter not among them. */
export const approvalRule = z
  .object({
    /** How many distinct people must approve. */
    approvers: count.max(10).default(1),
    /** The person who started the run (`opsflow start --by`, kept in its memo) may not approve it. */
    forbidStarter: flag,
  })
  .strict();
/** `true`, `false`, or the rule. */
export const approvalSetting = z.union([z.boolean(), approvalRule]);
export type ApprovalRule = z.infer<typeof approvalRule>;
export type ApprovalSetting = z.infer<typeof approvalSetting>;

/** The rule an approval setting means; undefined when no approval is needed. */
export function approvalRuleOf(setting: ApprovalSetting | undefined): ApprovalRule | undefined {
  if (setting === undefined || setting === false) return undefined;
  return setting === true ? { approvers: 1, forbidStarter: false } : setting;
}

/** The memo key under which a run keeps who started it (`opsflow start --by`, default the OS user). */
export const STARTED_BY_MEMO = 'opsflowStartedBy';

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * opsflow's custom search attributes. The dev stack registers them at start; a Temporal cluster
 * needs them once: `temporal operator search-attribute create --name OpsflowHealth --type Keyword`.
 */
export const OpsflowHealth = defineSearchAttributeKey('OpsflowHealth', SearchAttributeType.KEYWORD);
export const OpsflowService = defineSearchAttributeKey('OpsflowService', SearchAttributeType.KEYWORD);
export const OpsflowStep = defineSearchAttributeKey('OpsflowStep', SearchAttributeType.KEYWORD);
export const OpsflowMigration = defineSearchAttributeKey('OpsflowMigration', SearchAttributeType.KEYWORD);
export const OpsflowPhase = defineSearchAttributeKey('OpsflowPhase', SearchAttributeType.KEYWORD);
export const OpsflowSeverity = defineSearchAttributeKey('OpsflowSeverity', SearchAttributeType.KEYWORD);
export const OpsflowState = defineSearchAttributeKey('OpsflowState', SearchAttributeType.KEYWORD);
/** The commit a deploy ships (resolved from its ref). */
export const OpsflowCommit = defineSearchAttributeKey('OpsflowCommit', SearchAttributeType.KEYWORD);

export const opsflowSearchAttributes = [
  OpsflowHealth,
  OpsflowService,
  OpsflowStep,
  OpsflowMigration,
  OpsflowPhase,
  OpsflowSeverity,
  OpsflowState,
  OpsflowCommit,
];

/**
 * The memo key under which a run that ends cancelled keeps its own account of the end ("rollout of
 * shop cancelled at step 1/2 (20 %); rolled back: LB edge reads 0 % green"): a cancellation
 * carries no message, and the memo is read by `describe` without a worker.
 */
export const ENDING_MEMO = 'opsflowEnding';

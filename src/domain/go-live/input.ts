import { z } from 'zod';
import { addIssue } from '../validation';
import { approvalSetting } from '../approval';
import { targetName } from '../names';
import { readinessInput, readinessWorkflowId } from '../readiness/input';
import { baselineInput, baselineWorkflowId } from '../baseline/input';
import { dataMigrationInput } from '../migration/input';
import { phasedRolloutInput, rolloutWorkflowId } from '../rollout/input';
import { cutoverWorkflowId, userCutoverInput } from '../cutover/input';

/** The stages in the order a go-live runs them; each is its own child workflow. */
export const stageOrder = ['readiness', 'baseline', 'dataMigration', 'phasedRollout', 'userCutover'] as const;
export type StageName = (typeof stageOrder)[number];
/** Stages that change a system: none may start before readiness passed. */
const changingStages: StageName[] = ['dataMigration', 'phasedRollout', 'userCutover'];

/**
 * Input of `goLiveWorkflow`: the service and, for each stage to run, that stage's own input (parsed
 * here with the stage's schema, so a mistake is named `stages.phasedRollout.steps.0.weight` before
 * anything starts).
 */
export const goLiveInput = z
  .object({
    service: targetName,
    stages: z
      .object({
        readiness: readinessInput.omit({ service: true }).optional(),
        baseline: baselineInput.optional(),
        dataMigration: dataMigrationInput.optional(),
        phasedRollout: phasedRolloutInput.optional(),
        userCutover: userCutoverInput.optional(),
      })
      .strict(),
    /** Wait for an `approve` signal before each stage after the first. */
    /** `true`, or `{ approvers: 2, forbidStarter: true }`: who must approve each stage after the first. */
    approveBetweenStages: approvalSetting.default(false),
  })
  .strict()
  .superRefine((i, ctx) => {
    const present = stageOrder.filter((s) => i.stages[s] !== undefined);
    if (present.length === 0) addIssue(ctx, ['stages'], 'at least one stage');
    if (changingStages.some((s) => i.stages[s]) && !i.stages.readiness)
      addIssue(
        ctx,
        ['stages', 'readiness'],
        'required: the readiness gate must pass before a migration, rollout or cutover changes anything',
      );
    for (const s of ['baseline', 'phasedRollout', 'userCutover'] as const) {
      const stage = i.stages[s];
      if (stage && stage.service !== i.service)
        addIssue(ctx, ['stages', s, 'service'], `must be the go-live's service "${i.service}"`);
    }
    if (i.stages.phasedRollout?.dryRun)
      addIssue(ctx, ['stages', 'phasedRollout', 'dryRun'], 'a go-live rolls out for real');
    if (i.stages.dataMigration && i.stages.dataMigration.mode !== 'copy')
      addIssue(ctx, ['stages', 'dataMigration', 'mode'], 'a go-live copies (mode "copy")');
  });
export type GoLiveInput = z.input<typeof goLiveInput>;
export type GoLivePlan = z.output<typeof goLiveInput>;

/** Each stage's child id: the id that stage has when started on its own, so one service never runs two. */
export function stageWorkflowId(plan: GoLivePlan, stage: StageName): string {
  switch (stage) {
    case 'readiness':
      return readinessWorkflowId(plan.service);
    case 'baseline':
      return baselineWorkflowId(plan.service);
    case 'dataMigration':
      return `data-migration-${plan.stages.dataMigration!.name}`;
    case 'phasedRollout':
      return rolloutWorkflowId(plan.service);
    case 'userCutover':
      return cutoverWorkflowId(plan.service);
  }
}

export const goLiveWorkflowId = (service: string) => `go-live-${service}`;

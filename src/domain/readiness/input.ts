import { z } from 'zod';
import { nonEmpty, targetNames } from '../fields';
import { targetName } from '../names';
import { durationField } from '../duration';

/** Input of `readinessCheckWorkflow`: which service, which configured checklist. */
export const readinessInput = z
  .object({
    service: targetName,
    /** A checklist in `readiness.checklists`. */
    checklist: targetName,
    /**
     * How long the gate stays open for sign-offs, waivers and re-runs before it ends not ready.
     * A ready checklist ends the run at once.
     */
    deadline: durationField(1_000).default(24 * 3_600_000),
    /** Notifiers sent the report at the end. */
    notify: targetNames.default([]),
    /** History events of one run before the gate continues as new, carrying its state (many re-checks). */
    maxHistoryEvents: z.number().int().min(50).max(40_000).default(5_000),
  })
  .strict();
export type ReadinessInput = z.input<typeof readinessInput>;
export type ReadinessPlan = z.output<typeof readinessInput>;

export const readinessWorkflowId = (service: string) => `readiness-${service}`;

/** `signOff` Update: a person vouches for an item. */
export const signOffInput = z
  .object({ item: targetName, by: nonEmpty.max(100), note: z.string().max(500).optional() })
  .strict();
/** `waive` Update: an owner accepts a failing item until a time. */
export const waiveInput = z
  .object({
    item: targetName,
    by: nonEmpty.max(100),
    reason: nonEmpty.max(500),
    until: z.iso.datetime({ offset: true }),
  })
  .strict();
export type SignOffInput = z.infer<typeof signOffInput>;
export type WaiveInput = z.infer<typeof waiveInput>;

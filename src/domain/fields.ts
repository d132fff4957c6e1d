// Why: the zod fields that inputs and config sections are made of again and again, named once so
// a schema reads as what each field is.
import { z } from 'zod';
import { targetName, unitName } from './names';

/** Any text but the empty one. */
export const nonEmpty = z.string().min(1);

/** Config and inputs reach services over http(s) only. */
export const httpUrl = z.url({ protocol: /^https?$/ });

/** A switch that is off unless set. */
export const flag = z.boolean().default(false);

export const positiveInt = z.number().int().positive();
/** A count or size: a whole number of at least 1 (said so when refused, where positiveInt says above 0). */
export const count = z.number().int().min(1);
export const nonNegativeInt = z.number().int().min(0);
export const nonNegative = z.number().min(0);

/** A list of non-empty texts (patterns, argv, names the config does not define). */
export const texts = z.array(nonEmpty);

/** Text by name: labels, annotations, headers. */
export const stringMap = z.record(z.string(), z.string());

/** Names of config entries (notifiers, targets, metric sources) a section or an input lists. */
export const targetNames = z.array(targetName);

/** One kind of a union told apart by its `type`: the literal type and the kind's own fields, nothing else. */
export const typed = <T extends string, F extends z.ZodRawShape>(type: T, fields: F) =>
  z.object({ type: z.literal(type), ...fields }).strict();

/** systemd units, in the order they are acted on. */
export const unitNames = z.array(unitName);

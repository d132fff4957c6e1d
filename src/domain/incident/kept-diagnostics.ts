import { truncateText } from './text-limits';

/**
 * How much of the diagnostics an incident without a store keeps: they travel back in the activity's
 * result, so they are in history once; the store's column has no such bound, the history must.
 */
const KEPT_DIAGNOSTICS_MAX = 16_000;

/** A command's output as it came (its log tail reads best whole), anything else as compact JSON. */
function sectionText(value: unknown): string {
  if (value && typeof value === 'object' && typeof (value as { output?: unknown }).output === 'string') {
    const { output, ...rest } = value as { output: string };
    return `${JSON.stringify(rest)}\n${output}`;
  }
  return JSON.stringify(value) ?? String(value);
}

/**
 * The diagnostics sections as one text of at most `max` characters: each section gets an equal
 * share, cut visibly (text-limits.ts), so a long log tail never crowds out the host or PostgreSQL.
 */
export function keptDiagnostics(sections: Record<string, unknown>, max = KEPT_DIAGNOSTICS_MAX): string {
  const entries = Object.entries(sections);
  if (!entries.length) return '';
  const share = Math.floor((max - (entries.length - 1)) / entries.length);
  return entries.map(([name, value]) => truncateText(`[${name}]\n${sectionText(value)}`, share)).join('\n');
}

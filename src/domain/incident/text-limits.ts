/**
 * Cutting text that is too long for where it is shown, visibly: the cut text ends with a marker
 * that says how long the original was, so a reader knows something is missing and where the
 * whole text is (the incident's alert evidence).
 */

/** `4812` → `4 812`: a plain space groups the thousands whatever the locale. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

const truncationMarker = (originalLength: number) => `…[truncated, ${grouped(originalLength)} chars]`;

/**
 * `text` if it fits in `max` characters, else its beginning followed by the marker, `max`
 * characters in all. Never splits a surrogate pair: half a character is not valid Unicode and
 * PostgreSQL's jsonb refuses it.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = truncationMarker(text.length);
  let keep = Math.max(0, max - marker.length);
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return `${text.slice(0, keep)}${marker}`.slice(0, max);
}

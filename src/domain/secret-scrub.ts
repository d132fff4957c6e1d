/**
 * Scrubbing secrets out of text. A remote system may echo a credential it was sent back into an
 * error ("invalid token: Bearer S3cr…"), and anything an activity returns or throws lands in
 * workflow history, the Web UI and the messages people are sent. The worker knows every secret
 * it resolved, so it can remove each one before the text leaves; this module is the pure part:
 * given the values, what a text looks like without them.
 */

export const REDACTED = '[redacted]';

/** Shorter values are not scrubbed: blanking every "abc" in a message would hide the message. */
const MIN_SECRET_LENGTH = 4;

/**
 * A secret cut short by the echoing system is caught by its leading characters: at least this many
 * followed by an ellipsis ("S3cr3tT0k…", "S3cr3tT0k..."), or at least half the secret where the
 * text ends or goes on with anything but a letter or digit (a quote, a space). A shorter beginning
 * with no ellipsis is as likely an ordinary word the secret happens to start with ("directory" of
 * "directory-7f3a…"), and too little of a secret to use.
 */
const MIN_PREFIX_LENGTH = 8;

/**
 * Credentials recognised by their form, whatever their value, so that a token opsflow never
 * resolved (a receiver's own, a header echoed whole) is caught too: the value of an Authorization
 * header, a Bearer or Basic credential, and a password in a URL's userinfo (`scheme://user:pw@`).
 */
const FORMS: { pattern: RegExp; replace: string }[] = [
  {
    pattern: /(\bauthorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token|digest)\s+)?[^\s"',;}\]]+/gi,
    replace: `$1$2${REDACTED}`,
  },
  {
    pattern:
      /\b(bearer)\s+(?!(?:token|tokens|auth|authentication|realm|credentials?)\b)[A-Za-z0-9\-._~+/]+=*(?:…|\.\.\.)?/gi,
    replace: `$1 ${REDACTED}`,
  },
  { pattern: /\b(basic)\s+[A-Za-z0-9+/]{8,}={0,2}/gi, replace: `$1 ${REDACTED}` },
  { pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, replace: `$1${REDACTED}@` },
];

/** The forms a secret takes inside other text: as is, JSON-escaped, URL-encoded. */
function spellings(secret: string): string[] {
  const all = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  return [...all];
}

const isAlnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);

/** Replaces leading parts of `secret` that are visibly cut off (see MIN_PREFIX_LENGTH). */
function scrubPrefixes(text: string, secret: string): string {
  if (secret.length <= MIN_PREFIX_LENGTH) return text;
  const head = secret.slice(0, MIN_PREFIX_LENGTH);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    if (at < from) continue;
    let len = MIN_PREFIX_LENGTH;
    while (len < secret.length && text[at + len] === secret[len]) len++;
    let end = at + len;
    const ellipsis = text.startsWith('…', end) ? 1 : text.startsWith('...', end) ? 3 : 0;
    if (ellipsis) end += ellipsis;
    else if (len < Math.ceil(secret.length / 2) || isAlnum(text[end])) continue;
    out += text.slice(from, at) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}

/**
 * `text` without any of `secrets` (whole, or a visibly truncated leading part) and without any
 * credential recognised by its form. Longer secrets go first, so that one secret containing
 * another is removed whole.
 */
export function scrubText(text: string, secrets: Iterable<string>): string {
  return scrubWith(text, prepare(secrets));
}

/** The secrets worth scrubbing, longest first, each with its spellings: worked out once per walk. */
interface Prepared {
  secrets: string[];
  spellings: string[][];
}

function prepare(secrets: Iterable<string>): Prepared {
  const usable = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  return { secrets: usable, spellings: usable.map(spellings) };
}

function scrubWith(text: string, p: Prepared): string {
  let out = text;
  for (const forms of p.spellings) {
    for (const spelling of forms) if (out.includes(spelling)) out = out.split(spelling).join(REDACTED);
  }
  for (const secret of p.secrets) out = scrubPrefixes(out, secret);
  for (const { pattern, replace } of FORMS) out = out.replace(pattern, replace);
  return out;
}

/**
 * A copy of `value` with every string in it scrubbed (object keys are field names and stay), for
 * activity results and failure details. Anything that is not plain data (a Buffer, a Date) is
 * passed on unchanged.
 */
export function scrubValue<T>(value: T, secrets: Iterable<string>): T {
  const prepared = prepare(secrets);
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubWith(v, prepared);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const copy: unknown[] = [];
      seen.set(v, copy);
      for (const item of v) copy.push(walk(item));
      return copy;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const copy: Record<string, unknown> = {};
    seen.set(v, copy);
    for (const [k, item] of Object.entries(v)) copy[k] = walk(item);
    return copy;
  };
  return walk(value) as T;
}

/**
 * A URL kept as a secret (Slack's webhook URL) is secret in its path, and in its password if it has
 * one; a system that echoes only the path it was asked for must not give that part away.
 */
function urlSecretParts(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  const parts = [`${url.pathname}${url.search}`, decodeURIComponent(url.password)];
  return parts.filter((p) => p.length > 1);
}

/** The secrets a process has resolved, and scrubbing with them. */
export class SecretScrubber {
  private readonly values = new Set<string>();

  add(secret: string): void {
    // A file secret ends with a newline more often than not; the value used is the trimmed one.
    for (const v of [secret, secret.trim(), ...urlSecretParts(secret.trim())])
      if (v.length >= MIN_SECRET_LENGTH) this.values.add(v);
  }

  get size(): number {
    return this.values.size;
  }

  text(text: string): string {
    return scrubText(text, this.values);
  }

  value<T>(value: T): T {
    return scrubValue(value, this.values);
  }
}

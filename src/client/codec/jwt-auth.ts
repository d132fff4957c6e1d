import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { JwksAuthConfig } from '../../config/sections/encryption';

/** A bearer token checked as a JWT: who it is, or why it is refused (never the token itself). */
export type JwtCheck = { ok: true; who: string } | { ok: false; status: 401 | 503; who: string; problem: string };

/** A claim or header value from a token, fit for one log line: quoted, escaped, bounded. */
const shown = (value: unknown): string => JSON.stringify(String(value).slice(0, 120));

/** `jwt sub "alice"`: the audit's name for a JWT caller, from a token whose signature verified. */
const subjectOf = (payload: { sub?: unknown } | undefined) =>
  payload?.sub === undefined ? 'jwt (no sub)' : `jwt sub ${shown(payload.sub)}`;

/**
 * Checks bearer tokens against an issuer's JWKS with jose: the signature by a key of the set (by
 * `kid`), an accepted algorithm, `iss`, `aud` when configured, `exp` (required, not passed) and
 * `nbf`, and a `sub` to name the caller by. The set is fetched on first use with a timeout, cached
 * for `cacheMaxAgeMs`, and fetched again, at most once per `cooldownMs`, when a token names a key id
 * it lacks: a key the issuer has just rotated in is accepted without a restart.
 */
export function jwksVerifier(config: JwksAuthConfig): (token: string) => Promise<JwtCheck> {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.url), {
    timeoutDuration: config.timeoutMs,
    cacheMaxAge: config.cacheMaxAgeMs,
    cooldownDuration: config.cooldownMs,
  });
  const host = new URL(config.url).host;
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        requiredClaims: ['exp', 'sub'],
      });
      return { ok: true, who: subjectOf(payload) };
    } catch (err) {
      return refusal(err, token, config, host);
    }
  };
}

function refusal(err: unknown, token: string, config: JwksAuthConfig, host: string): JwtCheck {
  const code = (err as { code?: string }).code;
  const refused = (problem: string, who = 'unknown'): JwtCheck => ({ ok: false, status: 401, who, problem });
  const unavailable = (problem: string): JwtCheck => ({ ok: false, status: 503, who: 'unknown', problem });
  const kid = () => {
    try {
      const header = decodeProtectedHeader(token);
      return header.kid === undefined ? 'no kid' : `kid ${shown(header.kid)}`;
    } catch {
      return 'no readable header';
    }
  };
  switch (code) {
    // Claim checks run after the signature verified: the claims are the issuer's, so the caller is named.
    case 'ERR_JWT_EXPIRED': {
      const { payload } = err as { payload: { exp?: number; sub?: string } };
      const at = typeof payload.exp === 'number' ? ` at ${new Date(payload.exp * 1000).toISOString()}` : '';
      return refused(`JWT expired${at}`, subjectOf(payload));
    }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason, payload } = err as { claim: string; reason: string; payload: Record<string, unknown> };
      const who = subjectOf(payload);
      if (reason === 'missing') return refused(`JWT has no "${claim}" claim`, who);
      if (claim === 'iss') return refused(`wrong issuer ${shown(payload.iss)} (expected ${shown(config.issuer)})`, who);
      if (claim === 'aud') {
        const aud = Array.isArray(payload.aud) ? payload.aud.join(', ') : payload.aud;
        return refused(`wrong audience ${shown(aud)} (expected ${shown([config.audience].flat().join(' or '))})`, who);
      }
      if (claim === 'nbf') return refused('JWT not valid yet (nbf)', who);
      return refused(`JWT claim "${claim}" is invalid (${reason})`, who);
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refused(`bad signature (${kid()})`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return refused(`unknown key id: no key of the JWKS at ${host} matches (${kid()})`);
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refused(`several keys of the JWKS at ${host} match (${kid()}): the token must name its kid`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return refused(`signature algorithm not accepted (accepted: ${config.algorithms.join(', ')})`);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return refused('not the configured token, nor a well-formed JWT');
    case 'ERR_JWKS_TIMEOUT':
      return unavailable(`the JWKS at ${host} did not answer within ${config.timeoutMs} ms`);
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return unavailable(`the JWKS at ${host} is unusable: ${(err as Error).message}`);
    default: {
      // fetch's own failures (refused, reset, DNS) carry the reason in `cause`
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (err instanceof TypeError && cause)
        return unavailable(`the JWKS at ${host} could not be fetched: ${cause.code ?? cause.message}`);
      return refused(`JWT refused: ${(err as Error).message}`);
    }
  }
}

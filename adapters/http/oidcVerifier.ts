/**
 * OpenID Connect bearer tokens (config `auth.oidc`): a JWT is accepted when it is signed by one of the
 * issuer's keys (its JWKS: `jwksUrl`, else the `jwks_uri` of the issuer's discovery document), was
 * issued by `issuer` for `audience`, is within its validity, and carries `userClaim` as a string. Keys
 * are fetched and cached by jose: refetched after 10 minutes, or when a token names a key it lacks (at most every 30 s).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { OidcConfig } from '../../domain/config.js';

/** Signature algorithms of issuers' public keys; shared-secret (HS*) and unsigned tokens are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DISCOVERY_TIMEOUT_MS = 5000;

export type OidcResult = { ok: true; user: string } | { ok: false; status: 401 | 503; error: string };

export interface OidcVerifier {
  verify(token: string): Promise<OidcResult>;
}

export function createOidcVerifier(config: OidcConfig): OidcVerifier {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = () => {
    if (!keys) {
      const found = (config.jwksUrl ? Promise.resolve(config.jwksUrl) : discoverJwksUri(config.issuer)).then((url) => createRemoteJWKSet(new URL(url)));
      // A failed discovery is tried again on the next request, not remembered.
      found.catch(() => {
        if (keys === found) keys = undefined;
      });
      keys = found;
    }
    return keys;
  };

  return {
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, await keySet(), { issuer: config.issuer, audience: config.audience, algorithms: ALGORITHMS }));
      } catch (err) {
        if (unavailable(err)) return { ok: false, status: 503, error: `cannot read the OIDC issuer's keys right now: ${(err as Error).message}` };
        return { ok: false, status: 401, error: `invalid OIDC token: ${(err as Error).message}` };
      }
      const user = payload[config.userClaim];
      if (typeof user !== 'string' || !user)
        return { ok: false, status: 401, error: `the OIDC token has no "${config.userClaim}" claim (auth.oidc.userClaim)` };
      return { ok: true, user };
    },
  };
}

/** The issuer's `jwks_uri`, from its discovery document. */
async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
  if (!res.ok) throw new DiscoveryError(`OIDC discovery ${url}: HTTP ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new DiscoveryError(`OIDC discovery ${url}: no jwks_uri`);
  return doc.jwks_uri;
}

class DiscoveryError extends Error {}

/** The issuer could not be asked (timeout, refused, not a key set), as opposed to a token it does not vouch for. */
function unavailable(err: unknown): boolean {
  if (err instanceof DiscoveryError || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  if (err instanceof errors.JOSEError) return /JSON Web Key Set HTTP response/.test(err.message);
  return true;
}

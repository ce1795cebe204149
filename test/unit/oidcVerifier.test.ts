/**
 * OIDC bearer tokens for the decision API, against a local issuer over real HTTP with real RS256
 * signatures: the issuer's keys found by discovery (or `jwksUrl`), and every way a token can be wrong
 * refused with 401 — another key, another issuer or audience, expired, no user claim, a shared-secret
 * algorithm — while an issuer that cannot be reached is a 503, not a verdict on the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createOidcVerifier } from '../../adapters/http/oidcVerifier.js';
import { freePort } from '../../adapters/net/freePort.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidcIssuer.js';

const AUDIENCE = 'vigil-decisions';

describe('OIDC verifier', () => {
  let issuer: OidcIssuer;
  before(async () => {
    issuer = await startOidcIssuer({ audience: AUDIENCE });
  });
  after(async () => issuer?.stop());

  const verifier = () => createOidcVerifier({ issuer: issuer.issuer, audience: AUDIENCE, userClaim: 'email' });

  it("accepts the issuer's token and names the user by the configured claim, keys found by discovery", async () => {
    const r = await verifier().verify(await issuer.sign({ sub: 'u-1', email: 'alice@example.com' }));
    assert.deepEqual(r, { ok: true, user: 'alice@example.com' });
    assert.ok(issuer.requests.includes('/.well-known/openid-configuration'), `discovery was read: ${issuer.requests.join(', ')}`);
    assert.ok(issuer.requests.includes('/jwks'));
  });

  it('uses jwksUrl when given', async () => {
    const v = createOidcVerifier({ issuer: issuer.issuer, audience: AUDIENCE, userClaim: 'sub', jwksUrl: issuer.jwksUrl });
    assert.deepEqual(await v.verify(await issuer.sign({ sub: 'bob' })), { ok: true, user: 'bob' });
  });

  it('refuses tokens the issuer did not sign for this audience, or that expired (401)', async () => {
    const v = verifier();
    const refused = async (token: string, why: RegExp) => {
      const r = await v.verify(token);
      assert.equal(r.ok, false, `refused: ${why}`);
      assert.equal(!r.ok && r.status, 401);
      assert.match(!r.ok ? r.error : '', why);
    };
    const claims = { sub: 'u-1', email: 'alice@example.com' };
    await refused(await issuer.sign(claims, { key: await issuer.strangerKey() }), /signature verification failed/);
    await refused(await issuer.sign(claims, { audience: 'someone-else' }), /"aud" claim/);
    await refused(await issuer.sign(claims, { issuer: 'https://evil.example.com' }), /"iss" claim/);
    await refused(await issuer.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), /"exp" claim/);
    await refused(await issuer.sign({ sub: 'u-1' }), /no "email" claim/);
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-anyone-could-know'));
    await refused(hs256, /alg/i);
    await refused('not.a.jwt', /invalid OIDC token/);
  });

  it('answers 503 when the issuer cannot be reached, and tries discovery again later', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await createOidcVerifier({ issuer: down, audience: AUDIENCE, userClaim: 'sub' }).verify(await issuer.sign({ sub: 'alice' }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, 503);
    assert.match(!r.ok ? r.error : '', /cannot read the OIDC issuer's keys/);
  });
});

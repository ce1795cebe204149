/**
 * A stand-in OpenID Connect issuer on a free loopback port: its discovery document
 * (`/.well-known/openid-configuration`) and JWKS (`/jwks`) over real HTTP, and a real RS256 key that
 * signs the tokens a test hands out.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { webcrypto } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcIssuer {
  issuer: string;
  jwksUrl: string;
  /** Requests served, by path. */
  requests: string[];
  /** A token signed by the issuer's current key: `sub` and any claims; valid for 5 minutes unless `expiresIn`/`issuer`/`audience` say otherwise. */
  sign(
    claims: JWTPayload,
    opts?: { audience?: string; issuer?: string; expiresIn?: string | number; key?: webcrypto.CryptoKey; kid?: string },
  ): Promise<string>;
  /** A key of nobody's: tokens signed with it must be refused. */
  strangerKey(): Promise<webcrypto.CryptoKey>;
  stop(): Promise<void>;
}

export async function startOidcIssuer(opts: { audience: string }): Promise<OidcIssuer> {
  const key = await newKey('key-1');
  const requests: string[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '/');
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send({ issuer: base, jwks_uri: `${base}/jwks` });
    if (req.url === '/jwks') return send({ keys: [key.publicJwk] });
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer: base,
    jwksUrl: `${base}/jwks`,
    requests,
    async sign(claims, o = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? key.kid })
        .setIssuer(o.issuer ?? base)
        .setAudience(o.audience ?? opts.audience)
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? '5m')
        .sign(o.key ?? key.privateKey);
    },
    async strangerKey() {
      return (await generateKeyPair('RS256')).privateKey;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function newKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * Decision API tokens in PostgreSQL (`api_tokens`). A token is 32 random bytes (`vigil_<base64url>`):
 * with that much entropy a plain SHA-256 is as good as a slow hash, and it lets a request find its
 * token by digest with an index. Only the digest is stored; the token is returned once, by create.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import type { ApiTokenInfo, ApiTokenStore } from '../../ports/apiTokens.js';

/** Every Vigil API token starts with this, so a bearer value says which kind it is (a JWT has none). */
export const API_TOKEN_PREFIX = 'vigil_';

interface TokenRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export function createApiTokenStore(pool: pg.Pool): ApiTokenStore {
  const info = (r: TokenRow): ApiTokenInfo => ({
    id: r.id,
    user: r.user_id,
    createdAt: r.created_at.toISOString(),
    ...(r.last_used_at ? { lastUsedAt: r.last_used_at.toISOString() } : {}),
    ...(r.revoked_at ? { revokedAt: r.revoked_at.toISOString() } : {}),
  });

  return {
    async create(user) {
      const token = `${API_TOKEN_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
      const id = `tok_${crypto.randomBytes(5).toString('hex')}`;
      const r = await pool.query<TokenRow>(
        'INSERT INTO api_tokens (id, user_id, token_sha256) VALUES ($1, $2, $3) RETURNING id, user_id, created_at, last_used_at, revoked_at',
        [id, user, tokenDigest(token)],
      );
      return { info: info(r.rows[0]!), token };
    },

    async list() {
      const r = await pool.query<TokenRow>('SELECT id, user_id, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id');
      return r.rows.map(info);
    },

    async revoke(id) {
      const r = await pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
      return (r.rowCount ?? 0) > 0;
    },

    async verify(token) {
      if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
      const r = await pool.query<{ id: string; user_id: string }>(
        'UPDATE api_tokens SET last_used_at = now() WHERE token_sha256 = $1 AND revoked_at IS NULL RETURNING id, user_id',
        [tokenDigest(token)],
      );
      const row = r.rows[0];
      return row ? { id: row.id, user: row.user_id } : undefined;
    },
  };
}

export function tokenDigest(token: string): Buffer {
  return crypto.createHash('sha256').update(token).digest();
}

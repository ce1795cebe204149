/**
 * Per-person bearer tokens for the decision API: created by an admin (`vigil token create`), shown once,
 * stored only as a digest (adapters/postgres/apiTokenStore.ts).
 */

export interface ApiTokenInfo {
  id: string;
  /** The person the token speaks for (config `people` id, or a name of its own). */
  user: string;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

export interface ApiTokenStore {
  /** A new token for the user: the only time the token itself is seen. */
  create(user: string): Promise<{ info: ApiTokenInfo; token: string }>;
  list(): Promise<ApiTokenInfo[]>;
  /** False when there is no such token or it was revoked already. */
  revoke(id: string): Promise<boolean>;
  /** The live token's id and user, or undefined for an unknown or revoked one. */
  verify(token: string): Promise<{ id: string; user: string } | undefined>;
}

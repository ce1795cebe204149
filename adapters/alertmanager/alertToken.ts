/**
 * The bearer token Alertmanager must present to the alert receiver: VIGIL_ALERT_TOKEN, else the
 * state folder's `alert-token` file, generated on first use (mode 0600). Callers report where the
 * token lives, never the token itself.
 */
import { resolveBearerToken, type BearerTokenSpec, type ResolvedToken } from '../http/bearerToken.js';

export const ALERT_TOKEN_ENV = 'VIGIL_ALERT_TOKEN';
export const ALERT_TOKEN_FILE = 'alert-token';
export const ALERT_TOKEN: BearerTokenSpec = { env: ALERT_TOKEN_ENV, file: ALERT_TOKEN_FILE, what: 'alert token' };

export type AlertToken = ResolvedToken;

export function resolveAlertToken(opts: { stateDir: string; env?: NodeJS.ProcessEnv }): AlertToken {
  return resolveBearerToken(ALERT_TOKEN, opts);
}

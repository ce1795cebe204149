/**
 * `vigil approve|reject` and `vigil incident signal` in production: with VIGIL_API_URL set, the decision
 * or signal goes to Vigil's decision API with VIGIL_API_TOKEN, which says who sends it; without it, the
 * CLI goes directly through Temporal as the local user (the local stack).
 */
import { redactUrl } from '../adapters/net/redactUrl.js';
import { UserInputError } from '../domain/errors.js';
import type { DecideResult, Verdict } from '../domain/incident.js';

export const API_URL_ENV = 'VIGIL_API_URL';
export const API_TOKEN_ENV = 'VIGIL_API_TOKEN';
const REQUEST_TIMEOUT_MS = 30_000;

export interface DecisionApiSettings {
  baseUrl: string;
  token: string;
}

/** The API's address and token, when VIGIL_API_URL is set; a malformed or incomplete setting is an error naming the variable. */
export function decisionApiFromEnv(env: NodeJS.ProcessEnv = process.env): DecisionApiSettings | undefined {
  const raw = env[API_URL_ENV];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserInputError(`${API_URL_ENV}: not a URL (e.g. https://vigil.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserInputError(`${API_URL_ENV}: must be an http or https URL`);
  const token = env[API_TOKEN_ENV]?.trim();
  if (!token) throw new UserInputError(`${API_TOKEN_ENV} is not set: ${API_URL_ENV} needs your API token (vigil token create --user <you>, by an admin)`);
  return { baseUrl: url.toString().replace(/\/+$/, ''), token };
}

export async function decideThroughApi(api: DecisionApiSettings, id: string, decision: { verdict: Verdict; reason?: string }): Promise<DecideResult> {
  const { status, body } = await postToApi(api, `/v1/incidents/${encodeURIComponent(id)}/decisions`, decision);
  if (typeof body.outcome !== 'string' || !Array.isArray(body.votes))
    throw new Error(`the decision API at ${redactUrl(api.baseUrl)} answered ${status} without a decision`);
  return body as unknown as DecideResult;
}

/** `vigil incident signal` with VIGIL_API_URL: sent as the token's person. */
export async function signalThroughApi(api: DecisionApiSettings, id: string, signal: { name: string; data?: Record<string, string> }): Promise<{ by: string }> {
  const { body } = await postToApi(api, `/v1/incidents/${encodeURIComponent(id)}/signals`, signal);
  return { by: typeof body.by === 'string' ? body.by : '?' };
}

/** POSTs JSON with the token; a 2xx answer's body, or an error: 401 and other 4xx are bad input (exit 2), the rest not. */
async function postToApi(api: DecisionApiSettings, path: string, payload: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${api.baseUrl}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach the decision API at ${redactUrl(api.baseUrl)} (${API_URL_ENV}): ${cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON: reported by status below */
  }
  if (res.ok) return { status: res.status, body };
  const error = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
  if (res.status === 401) throw new UserInputError(`${API_TOKEN_ENV} was refused by ${redactUrl(api.baseUrl)}: ${error}`);
  // Refused by the incident or the API (403, 404, 409, 400): bad input, exit 2, as in local mode.
  if (res.status >= 400 && res.status < 500) throw new UserInputError(error);
  throw new Error(`the decision API at ${redactUrl(api.baseUrl)} answered ${res.status}: ${error}`);
}

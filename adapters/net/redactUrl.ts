/**
 * Masks the secrets a URL carries, for messages and logs:
 *
 *   https://user:secret@host/             → https://***@host/ (the user name goes too: a token is often put there)
 *   postgres://h/db?sslmode=require&password=x  → postgres://h/db?sslmode=require&password=***
 *
 * A query (or fragment) parameter is secret when its name, lowercased without `_`, `-` and `.`, ends
 * with password, passwd, pwd, passphrase, token, secret, key, signature, sig, auth or credential(s):
 * `password`, `access_token`, `api_key`, `apikey`, `X-Amz-Signature`, `X-Amz-Credential`, `client_secret`…
 */

const SECRET_PARAM_NAME = /(?:password|passwd|pwd|passphrase|token|secret|key|signature|sig|auth|credentials?)$/;

/** Whether a query parameter named `name` carries a secret (see the module comment). */
export function isSecretParamName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    /* not percent-encoded text: judge it as written */
  }
  return SECRET_PARAM_NAME.test(decoded.toLowerCase().replace(/[-_.]/g, ''));
}

/** `?name=value`, `&name=value`, `;name=value` or `#name=value`, the value up to the next separator, space or quote. */
const PARAM = /([?&;#])([^=&;#?\s"'<>]+)=([^&;#\s"'<>]*)/g;
/** `scheme://userinfo@` (the user info has no `/`, `@` or space). */
const USERINFO = /(\/\/)[^/@\s"'<>]*@/g;

function maskSecretParams(text: string): string {
  return text.replace(PARAM, (whole, sep: string, name: string, value: string) => (value !== '' && isSecretParamName(name) ? `${sep}${name}=***` : whole));
}

/** One URL with its credentials and secret parameters masked; text that does not parse as a URL is masked as free text. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactUrlsInText(url);
  }
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
    return maskSecretParams(u.toString());
  }
  // Unchanged unless a parameter is secret: the URL as written, not re-serialised.
  return maskSecretParams(url);
}

/** Every URL in free text (a log line, an error message) with its credentials and secret parameters masked. */
export function redactUrlsInText(text: string): string {
  return maskSecretParams(text.replace(USERINFO, '$1***@'));
}

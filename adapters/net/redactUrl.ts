/**
 * `https://user:secret@host/` → `https://***@host/`, for messages and logs: the user name goes too (a
 * token is often put there). Text that does not parse as a URL is masked the same way.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

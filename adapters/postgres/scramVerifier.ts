/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, PostgreSQL's
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), computed here as psql's `\password`
 * does, so `ALTER ROLE … PASSWORD` never sends the password itself: it cannot end up in the server's
 * log (a failed statement is logged whole) or in pg_stat_activity.
 */
import crypto from 'node:crypto';

const ITERATIONS = 4096;

/** `password` must be plain ASCII (SASLprep leaves it unchanged), as the generated ones are. */
export function scramSha256Verifier(password: string, salt: Buffer = crypto.randomBytes(16), iterations = ITERATIONS): string {
  // eslint-disable-next-line no-control-regex -- only printable ASCII is prepared the same by every client
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('the password must be printable ASCII without spaces');
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => crypto.createHmac('sha256', key).update(text).digest();
  const storedKey = crypto.createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

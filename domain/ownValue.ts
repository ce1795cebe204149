/**
 * A record's own value for a key that came from input (a CSV column, an alert name, a feature): with a
 * plain `record[key]`, "constructor" or "toString" would find Object.prototype's members instead of
 * nothing.
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

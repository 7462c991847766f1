/** Objects are addressed by their id (a UUID) or by a unique human name (username, client_id, audience). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Comparing a uuid column with a non-UUID string is an SQL error, so callers check first. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

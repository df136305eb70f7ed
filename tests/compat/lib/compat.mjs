// What the JavaScript scenarios share: the keytrail they run against, its records, assertions.
import assert from "node:assert/strict";
import path from "node:path";

export const ENDPOINT = process.env.KEYTRAIL_ENDPOINT;
const NAME = path.basename(path.dirname(process.argv[1]));

export function say(message) {
  console.log(`compat/${NAME}: ${message}`);
}

/** Every record so far (optionally of one eventName), oldest first. */
export async function records(eventName) {
  const query = eventName ? `?eventName=${eventName}` : "";
  const res = await fetch(`${ENDPOINT}/_keytrail/events${query}`);
  return (await res.json()).Records;
}

export async function names() {
  return (await records()).map((r) => r.eventName);
}

export { assert };

// Verifies deliveries with the official Standard Webhooks library, not with the service's code.
// Reads a JSON array of { secret, headers, body } from the file named by the first argument;
// prints a JSON array of { ok, payload } or { ok: false, error }, one per delivery.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const deliveries = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = deliveries.map(({ secret, headers, body }) => {
  try {
    return { ok: true, payload: new Webhook(secret).verify(body, headers) };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
});
console.log(JSON.stringify(results));

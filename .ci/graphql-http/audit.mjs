// graphql-http's GraphQL-over-HTTP server audits against a running service: every MUST (error)
// and SHOULD (warn) must pass; a MAY (notice) is reported, not failed.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  results.push(await audit.fn());
}
const count = (status) => results.filter((r) => r.status === status).length;
for (const r of results.filter((r) => r.status !== 'ok')) {
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
}
console.log(
  `graphql-http audits: ${count('ok')} ok, ${count('notice')} notices (MAY), ` +
    `${count('warn')} warnings (SHOULD), ${count('error')} errors (MUST)`,
);
process.exit(count('warn') + count('error') === 0 ? 0 : 1);

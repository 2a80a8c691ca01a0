// Checks the Grafana dashboard: the JSON parses, it has queries, and every broker metric a
// query names is exported by the brokers scraped (the union over the URLs given).
// Usage: node grafana-check.mjs DASHBOARD.json METRICS_URL...   Exit 0 ok, 1 problems, 2 usage.
import { readFileSync } from "node:fs";
import { checkDashboard, exportedNames } from "./lib.mjs";

const [dashboardPath, ...urls] = process.argv.slice(2);
if (!dashboardPath || urls.length === 0) {
  console.error("usage: node grafana-check.mjs DASHBOARD.json METRICS_URL...");
  process.exit(2);
}
let dashboard;
try {
  dashboard = JSON.parse(readFileSync(dashboardPath, "utf8"));
} catch (error) {
  console.error(`${dashboardPath}: not JSON: ${error.message}`);
  process.exit(1);
}
const exported = new Set();
for (const url of urls) {
  const answer = await fetch(url);
  if (!answer.ok) {
    console.error(`${url}: ${answer.status}`);
    process.exit(1);
  }
  const names = exportedNames(await answer.text());
  console.log(`${url}: ${names.size} metric names`);
  for (const n of names) exported.add(n);
}
const { queries, problems } = checkDashboard(dashboard, exported);
if (problems.length > 0) {
  for (const p of problems) console.error(`problem: ${p}`);
  process.exit(1);
}
console.log(`${dashboardPath}: ${queries.length} queries, every metric they name is exported`);

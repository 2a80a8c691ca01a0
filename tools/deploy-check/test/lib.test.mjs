// Unit cases of the deploy check: recipes that must fail (an unknown setting, a wrong command,
// probe path or port, a plain secret) fail with a message naming the problem, and the real
// recipes' shapes pass. Run: BROKER_BINARY=... BROKER_OPENAPI=... node --test test/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  checkAlertTestsCover,
  checkContainer,
  checkDashboard,
  checkServices,
  composeContainers,
  ecsContainers,
  exportedNames,
  factsFromBinary,
  kubernetesContainers,
  parseAllDocuments,
} from "../lib.mjs";

const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const facts = factsFromBinary(process.env.BROKER_BINARY, process.env.BROKER_OPENAPI);

test("the binary's facts: settings, subcommands, routes", () => {
  assert.ok(facts.settings.get("BROKER_API_TOKEN").secret);
  assert.ok(facts.commands.has("serve") && facts.commands.has("worker") && facts.commands.has("migrate"));
  assert.ok(facts.routes.some((r) => r.test("/readyz")));
  assert.ok(facts.routes.some((r) => r.test("/v1/sandboxes/42")));
});

test("an unknown setting in a Compose service fails, naming it", () => {
  const { containers } = composeContainers(readFileSync(fixture("unknown-setting.compose.yaml"), "utf8"), "fixture");
  const problems = checkContainer(containers[0], facts);
  assert.ok(problems.some((p) => p.includes("BROKER_LISTN is not a setting")), problems.join("\n"));
  // NAME_FILE counts only for secrets.
  assert.ok(problems.some((p) => p.includes("LOG_LEVEL_FILE is not a setting")), problems.join("\n"));
  assert.ok(!problems.some((p) => p.includes("BROKER_API_TOKEN_FILE")), problems.join("\n"));
  // Without BROKER_LISTEN the image's 8080 is the listen port: 8080 is published, so no port problem.
  assert.ok(!problems.some((p) => p.includes("port")), problems.join("\n"));
});

test("a wrong probe path or port, a liveness on /readyz, a loopback listen, a plain secret and a wrong Service targetPort fail", () => {
  const docs = parseAllDocuments(readFileSync(fixture("broken.k8s.yaml"), "utf8")).map((d) => d.toJS());
  const { containers, problems: found } = kubernetesContainers(docs, "fixture");
  assert.equal(found.length, 0);
  const problems = [...checkContainer(containers[0], facts), ...checkServices(docs, containers, "fixture")];
  const expect = [
    "readinessProbe path /ready is not a route",
    "readinessProbe port 8081 is not a port the broker listens on (8080)",
    "readinessProbe of the API on /ready; use /readyz",
    "livenessProbe on /readyz restarts every replica",
    "livenessProbe port 8081 is not a port the broker listens on (8080)",
    "port 8081 is declared but the broker listens on 8080",
    "BROKER_LISTEN=127.0.0.1:8080 is loopback only",
    "BROKER_ADMIN_TOKEN is a secret given as a plain value",
    "targetPort 9999 is no port",
  ];
  for (const e of expect) assert.ok(problems.some((p) => p.includes(e)), `missing "${e}" in:\n${problems.join("\n")}`);
  assert.equal(problems.length, expect.length, problems.join("\n"));
});

test("a secret as a plain ECS environment value, a wrong health check and command fail", () => {
  const { containers } = ecsContainers(readFileSync(fixture("plain-secret.ecs.json"), "utf8"), "fixture");
  const problems = checkContainer(containers[0], facts);
  assert.ok(
    checkContainer(containers[1], facts).some((p) => p.includes('command "migrat" is not a sandbox-broker subcommand')),
  );
  assert.ok(problems.some((p) => p.includes("BROKER_API_TOKEN is a secret given as a plain value")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("healthCheck path /health is not a route")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("healthCheck port 9090")), problems.join("\n"));
});

test("an alert without a quiet case is reported", () => {
  const rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n      - alert: B\n        expr: up == 0\n";
  const tests =
    "tests:\n  - input_series: []\n    alert_rule_test:\n      - {eval_time: 1m, alertname: A, exp_alerts: [{exp_labels: {}}]}\n" +
    "      - {eval_time: 1m, alertname: A, exp_alerts: []}\n      - {eval_time: 1m, alertname: B, exp_alerts: [{exp_labels: {}}]}\n";
  assert.deepEqual(checkAlertTestsCover(rules, tests).problems, ["alert B has no test where it stays quiet"]);
});

test("a dashboard query on a metric the broker does not export is reported", () => {
  const exposition =
    "# HELP broker_allocate_total x\n# TYPE broker_allocate_total counter\nbroker_allocate_total{outcome=\"success\"} 1\n" +
    "# TYPE broker_request_latency_seconds histogram\n";
  const dashboard = {
    panels: [
      { title: "ok", targets: [{ expr: "sum(rate(broker_allocate_total[5m]))" }] },
      { title: "row", panels: [{ title: "p99", targets: [{ expr: "histogram_quantile(0.99, rate(broker_request_latency_seconds_bucket[5m]))" }] }] },
      { title: "typo", targets: [{ expr: "rate(broker_alocate_total[5m])" }] },
    ],
  };
  const { problems } = checkDashboard(dashboard, exportedNames(exposition));
  assert.deepEqual(problems, ['panel "typo": broker_alocate_total is not exported by the broker']);
});

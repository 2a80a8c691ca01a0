// Checks the deployment recipes against the broker binary: renders the Kubernetes base and
// overlays with `kubectl kustomize`, reads the Compose file and the ECS task definitions, and
// for every broker container checks that each environment variable is a setting the binary
// lists (NAME_FILE of a secret counts), each command a real subcommand, each probe path a
// route, and that ports agree (container port = listen port = probe port = Service
// targetPort). Also: every alert rule has a firing and a quiet unit test.
// Usage: node check.mjs --binary PATH --openapi PATH [--deploy DIR] [--kubectl PATH]
// Exit 0: all agree; 1: problems (each printed); 2: bad usage or a tool missing.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  checkAlertTestsCover,
  checkContainer,
  checkScrapeTargets,
  checkServices,
  composeContainers,
  ecsContainers,
  factsFromBinary,
  kubernetesContainers,
  parseAllDocuments,
} from "./lib.mjs";

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    openapi: { type: "string" },
    deploy: { type: "string", default: "deploy" },
    kubectl: { type: "string", default: "kubectl" },
  },
});
if (!values.binary || !values.openapi) {
  console.error("usage: node check.mjs --binary PATH --openapi PATH [--deploy DIR] [--kubectl PATH]");
  process.exit(2);
}

const facts = factsFromBinary(values.binary, values.openapi);
const problems = [];
let checked = 0;
const report = (source, containers, found) => {
  checked += containers.length;
  console.log(`${source}: ${containers.length} broker container(s)${found.length ? `, ${found.length} problem(s)` : ", ok"}`);
  problems.push(...found);
};

// Kubernetes: the base and every overlay, as kubectl renders them.
const kube = join(values.deploy, "kubernetes");
const layouts = [join(kube, "base")];
if (existsSync(join(kube, "overlays"))) {
  for (const o of readdirSync(join(kube, "overlays")).sort()) layouts.push(join(kube, "overlays", o));
}
for (const dir of layouts) {
  let rendered;
  try {
    rendered = execFileSync(values.kubectl, ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    console.error(`kubectl kustomize ${dir} failed: ${error.stderr || error.message}`);
    process.exit(error.code === "ENOENT" ? 2 : 1);
  }
  const docs = parseAllDocuments(rendered).map((d) => d.toJS()).filter((d) => d && typeof d === "object");
  const { containers, problems: found } = kubernetesContainers(docs, dir);
  found.push(...containers.flatMap((c) => checkContainer(c, facts)));
  found.push(...checkServices(docs, containers, dir));
  if (containers.length === 0) found.push(`${dir}: renders no container running the sandbox-broker image`);
  report(`${dir} (${docs.length} manifests)`, containers, found);
}

// Compose, and the Prometheus it runs.
const composeDir = join(values.deploy, "compose");
const composeFile = join(composeDir, "compose.yaml");
const compose = composeContainers(readFileSync(composeFile, "utf8"), composeFile);
const composeProblems = [...compose.problems, ...compose.containers.flatMap((c) => checkContainer(c, facts))];
if (existsSync(join(composeDir, "prometheus.yml"))) {
  composeProblems.push(
    ...checkScrapeTargets(readFileSync(join(composeDir, "prometheus.yml"), "utf8"), compose.containers, join(composeDir, "prometheus.yml")),
  );
}
report(composeFile, compose.containers, composeProblems);

// ECS task definitions.
const ecsDir = join(values.deploy, "ecs");
for (const file of readdirSync(ecsDir).filter((f) => f.endsWith("-task-definition.json")).sort()) {
  const path = join(ecsDir, file);
  const ecs = ecsContainers(readFileSync(path, "utf8"), path);
  report(path, ecs.containers, [...ecs.problems, ...ecs.containers.flatMap((c) => checkContainer(c, facts))]);
}

// The alert rules' unit tests cover every alert both ways.
const rulesDir = join(values.deploy, "observability", "prometheus");
const cover = checkAlertTestsCover(
  readFileSync(join(rulesDir, "alerts.yml"), "utf8"),
  readFileSync(join(rulesDir, "alerts_test.yml"), "utf8"),
);
console.log(`${rulesDir}: ${cover.alerts.length} alerts${cover.problems.length ? "" : ", each tested firing and quiet"}`);
problems.push(...cover.problems);

if (problems.length > 0) {
  for (const p of problems) console.error(`problem: ${p}`);
  console.error(`deploy-check: ${problems.length} problem(s) in ${checked} broker containers`);
  process.exit(1);
}
console.log(`deploy-check: ${checked} broker containers agree with the binary (${facts.settings.size} settings, commands ${[...facts.commands].join(" ")})`);

// The deploy check's rules: what the broker binary says it is (settings, subcommands, routes),
// the broker containers of each recipe (Kubernetes manifests, Compose, ECS task definitions)
// brought to one shape, and the checks on that shape. check.mjs runs them on deploy/; the
// unit tests (test/) run them on fixtures that must fail.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parse, parseAllDocuments } from "yaml";

// --- What the binary knows -------------------------------------------------------------

// Settings (`settings --json`), subcommands (`--help`) and routes (the OpenAPI document).
export function factsFromBinary(binary, openapiPath) {
  const settings = JSON.parse(execFileSync(binary, ["settings", "--json"], { encoding: "utf8" })).settings;
  const help = execFileSync(binary, ["--help"], { encoding: "utf8" });
  const commands = [];
  let inSubcommands = false;
  for (const line of help.split("\n")) {
    if (/^subcommands:/i.test(line)) {
      inSubcommands = true;
      continue;
    }
    if (inSubcommands) {
      const match = /^\s+([a-z][a-z0-9-]*)\s/.exec(line);
      if (match) commands.push(match[1]);
      else if (line.trim() !== "") inSubcommands = false;
    }
  }
  const openapi = JSON.parse(readFileSync(openapiPath, "utf8"));
  return makeFacts(settings, commands, Object.keys(openapi.paths));
}

export function makeFacts(settings, commands, routes) {
  return {
    settings: new Map(settings.map((s) => [s.name, s])),
    commands: new Set(commands),
    routes: routes.map((r) => new RegExp("^" + r.replace(/\{[^}]+\}/g, "[^/]+") + "$")),
    routeNames: routes,
  };
}

// --- Broker containers, in one shape --------------------------------------------------
// { where, command: [...], env: Map(name -> value | null), literalEnv: Set(names given as a
//   plain value), ports: [numbers], probes: [{ path, port }], labels, portNames: Map }

const kBrokerImage = /(^|\/)sandbox-broker(:|@|$)/;
const kBinaryPath = /(^|\/)sandbox-broker$/;

export function isBrokerImage(image) {
  return typeof image === "string" && kBrokerImage.test(image.replace(/\$\{[^}]*\}/g, (m) => defaultOf(m) ?? ""));
}

// `${VAR:-default}` -> default (Compose interpolation); other text unchanged.
function defaultOf(text) {
  const match = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}$/.exec(text);
  return match ? (match[1] ?? "") : null;
}

export function interpolate(value) {
  if (value === null || value === undefined) return value;
  return String(value).replace(/\$\{[^}]*\}/g, (m) => defaultOf(m) ?? "");
}

// The broker subcommand of a container's command line (the entrypoint is the binary).
function brokerCommand(args) {
  const list = (args ?? []).map(String);
  if (list.length > 0 && kBinaryPath.test(list[0])) return list.slice(1);
  return list;
}

function portOf(address) {
  const match = /:(\d+)$/.exec(String(address ?? ""));
  return match ? Number(match[1]) : null;
}

function hostOf(address) {
  const text = String(address ?? "");
  return text.slice(0, text.lastIndexOf(":"));
}

// A health check command's URL (`healthcheck --url URL`), as a probe.
function probeFromCommand(command) {
  const list = (command ?? []).map(String);
  const at = list.indexOf("--url");
  if (at < 0 || at + 1 >= list.length) return null;
  const url = new URL(list[at + 1]);
  return { path: url.pathname, port: Number(url.port || 80) };
}

// Kubernetes: every container of every workload in the rendered documents that runs the image.
export function kubernetesContainers(docs, source) {
  const configMaps = new Map(docs.filter((d) => d?.kind === "ConfigMap").map((d) => [d.metadata.name, d.data ?? {}]));
  const out = [];
  const problems = [];
  for (const doc of docs) {
    const pod = podSpecOf(doc);
    if (!pod) continue;
    for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
      if (!isBrokerImage(c.image)) continue;
      const where = `${source}: ${doc.kind}/${doc.metadata.name} container ${c.name}`;
      const env = new Map();
      const literalEnv = new Set();
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef) {
          const data = configMaps.get(ref.configMapRef.name);
          if (!data) {
            problems.push(`${where}: envFrom names ConfigMap ${ref.configMapRef.name}, which is not rendered`);
            continue;
          }
          for (const [name, value] of Object.entries(data)) {
            env.set(name, String(value));
            literalEnv.add(name);
          }
        }
        if (ref.secretRef) problems.push(`${where}: envFrom secretRef hides which settings it sets; name them in env`);
      }
      for (const e of c.env ?? []) {
        env.set(e.name, e.value ?? null);
        if (e.value !== undefined && !e.valueFrom) literalEnv.add(e.name);
      }
      const portNames = new Map((c.ports ?? []).filter((p) => p.name).map((p) => [p.name, p.containerPort]));
      const probes = [];
      for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const probe = c[kind];
        if (!probe) continue;
        if (probe.httpGet) {
          const port = typeof probe.httpGet.port === "string" ? portNames.get(probe.httpGet.port) : probe.httpGet.port;
          if (port === undefined) problems.push(`${where}: ${kind} names port ${probe.httpGet.port}, which the container does not declare`);
          probes.push({ kind, path: probe.httpGet.path, port });
        } else if (probe.exec) {
          const p = probeFromCommand(brokerCommand(probe.exec.command));
          if (p) probes.push({ kind, ...p });
        }
      }
      out.push({
        where,
        command: brokerCommand(c.args ?? c.command),
        env,
        literalEnv,
        ports: (c.ports ?? []).map((p) => p.containerPort),
        portNames,
        probes,
        labels: pod.labels,
      });
    }
  }
  return { containers: out, problems };
}

function podSpecOf(doc) {
  if (!doc?.kind || !doc.spec) return null;
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(doc.kind)) {
    return { spec: doc.spec.template?.spec ?? {}, labels: doc.spec.template?.metadata?.labels ?? {} };
  }
  if (doc.kind === "CronJob") {
    const t = doc.spec.jobTemplate?.spec?.template;
    return { spec: t?.spec ?? {}, labels: t?.metadata?.labels ?? {} };
  }
  if (doc.kind === "Pod") return { spec: doc.spec, labels: doc.metadata?.labels ?? {} };
  return null;
}

// Kubernetes Services: each must select broker pods, and each targetPort must be a port
// those containers declare and listen on.
export function checkServices(docs, containers, source) {
  const problems = [];
  for (const svc of docs.filter((d) => d?.kind === "Service")) {
    const selector = svc.spec?.selector ?? {};
    const selected = containers.filter((c) => Object.entries(selector).every(([k, v]) => c.labels?.[k] === v));
    const where = `${source}: Service/${svc.metadata.name}`;
    if (selected.length === 0) {
      problems.push(`${where}: its selector matches no broker pod`);
      continue;
    }
    for (const port of svc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const c of selected) {
        const number = typeof target === "string" ? c.portNames.get(target) : target;
        if (number === undefined || !c.ports.includes(number)) problems.push(`${where}: targetPort ${target} is no port of ${c.where}`);
        else if (!listenPorts(c).includes(number))
          problems.push(`${where}: targetPort ${target} (${number}) is not a port ${c.where} listens on (${listenPorts(c).join(", ") || "none"})`);
      }
    }
  }
  return problems;
}

// Compose: the services that run the broker image (YAML merge keys resolved).
export function composeContainers(text, source) {
  const doc = parse(text, { merge: true });
  const out = [];
  const problems = [];
  for (const [name, svc] of Object.entries(doc.services ?? {})) {
    if (!isBrokerImage(svc.image)) continue;
    const where = `${source}: service ${name}`;
    const env = new Map();
    const literalEnv = new Set();
    const entries = Array.isArray(svc.environment)
      ? svc.environment.map((e) => {
          const at = String(e).indexOf("=");
          return at < 0 ? [String(e), null] : [String(e).slice(0, at), String(e).slice(at + 1)];
        })
      : Object.entries(svc.environment ?? {});
    for (const [key, value] of entries) {
      env.set(key, value === null ? null : interpolate(value));
      if (value !== null) literalEnv.add(key);
    }
    if (svc.env_file) problems.push(`${where}: env_file hides which settings it sets; name them in environment`);
    const ports = [];
    for (const p of svc.ports ?? []) {
      const text = typeof p === "object" ? String(p.target) : interpolate(p).split("/")[0];
      ports.push(Number(text.split(":").pop()));
    }
    for (const p of svc.expose ?? []) ports.push(Number(String(p).split("/")[0]));
    const probes = [];
    const test = svc.healthcheck?.test;
    if (Array.isArray(test) && !svc.healthcheck.disable) {
      const p = probeFromCommand(brokerCommand(test.slice(1)));
      if (p) probes.push({ kind: "healthcheck", ...p });
    }
    const command = typeof svc.command === "string" ? svc.command.split(/\s+/) : svc.command;
    out.push({ where, name, command: brokerCommand(command ?? ["run"]), env, literalEnv, ports, portNames: new Map(), probes });
  }
  return { containers: out, problems, doc };
}

// Compose's Prometheus: every scrape target names a broker service and a port it listens on.
export function checkScrapeTargets(prometheusText, containers, source) {
  const problems = [];
  const config = parse(prometheusText);
  for (const job of config.scrape_configs ?? []) {
    for (const sc of job.static_configs ?? []) {
      for (const target of sc.targets ?? []) {
        const [host, port] = String(target).split(":");
        const c = containers.find((x) => x.name === host);
        if (!c) problems.push(`${source}: job ${job.job_name} scrapes ${target}, no broker service of that name`);
        else if (!listenPorts(c).includes(Number(port)))
          problems.push(`${source}: job ${job.job_name} scrapes ${target}, but ${host} listens on ${listenPorts(c).join(", ") || "nothing"}`);
      }
    }
  }
  return problems;
}

// ECS: the container definitions of a task definition running the image.
export function ecsContainers(text, source) {
  const task = JSON.parse(text);
  const out = [];
  for (const c of task.containerDefinitions ?? []) {
    if (!isBrokerImage(c.image)) continue;
    const env = new Map();
    const literalEnv = new Set();
    for (const e of c.environment ?? []) {
      env.set(e.name, e.value);
      literalEnv.add(e.name);
    }
    for (const s of c.secrets ?? []) env.set(s.name, null);
    const probes = [];
    if (c.healthCheck) {
      const p = probeFromCommand(brokerCommand((c.healthCheck.command ?? []).slice(1)));
      if (p) probes.push({ kind: "healthCheck", ...p });
    }
    out.push({
      where: `${source}: ${task.family} container ${c.name}`,
      command: brokerCommand(c.command ?? ["run"]),
      env,
      literalEnv,
      ports: (c.portMappings ?? []).map((p) => p.containerPort),
      portNames: new Map(),
      probes,
    });
  }
  return { containers: out, problems: [] };
}

// --- The checks on one container -------------------------------------------------------

// The image's default (Dockerfile): BROKER_LISTEN=0.0.0.0:8080.
const kImageListen = "0.0.0.0:8080";

// The ports a container's broker listens on: the API's (run, serve) and METRICS_LISTEN's.
export function listenPorts(c) {
  const ports = [];
  const role = c.command[0];
  if (role === "run" || role === "serve") ports.push(portOf(c.env.get("BROKER_LISTEN") ?? kImageListen));
  if (["run", "serve", "worker"].includes(role) && c.env.get("METRICS_LISTEN")) ports.push(portOf(c.env.get("METRICS_LISTEN")));
  if (role === "csp-sim") {
    const at = c.command.indexOf("--listen");
    if (at > 0) ports.push(portOf(c.command[at + 1]));
  }
  return ports.filter((p) => p !== null);
}

export function checkContainer(c, facts) {
  const problems = [];
  const role = c.command[0];
  if (!role || !facts.commands.has(role)) {
    problems.push(`${c.where}: command "${c.command.join(" ")}" is not a sandbox-broker subcommand (${[...facts.commands].join(", ")})`);
  }
  for (const name of c.env.keys()) {
    const base = name.endsWith("_FILE") ? name.slice(0, -"_FILE".length) : null;
    const setting = facts.settings.get(name);
    if (setting) {
      if (setting.secret && c.literalEnv.has(name) && c.env.get(name)) {
        problems.push(`${c.where}: ${name} is a secret given as a plain value; give ${name}_FILE or a secret reference`);
      }
    } else if (!(base && facts.settings.get(base)?.secret)) {
      problems.push(`${c.where}: ${name} is not a setting of sandbox-broker (see \`sandbox-broker settings\`)`);
    }
  }
  for (const name of ["BROKER_LISTEN", "METRICS_LISTEN"]) {
    const value = c.env.get(name);
    if (value && c.ports.length > 0 && /^(127\.|localhost|\[::1\])/.test(hostOf(value))) {
      problems.push(`${c.where}: ${name}=${value} is loopback only: nothing outside the container reaches it`);
    }
  }
  const listening = listenPorts(c);
  for (const port of c.ports) {
    if (!listening.includes(port)) problems.push(`${c.where}: port ${port} is declared but the broker listens on ${listening.join(", ") || "nothing"}`);
  }
  for (const probe of c.probes) {
    if (!facts.routes.some((r) => r.test(probe.path))) problems.push(`${c.where}: ${probe.kind} path ${probe.path} is not a route of the broker`);
    // /readyz fails while the store is down: as liveness it would restart every replica.
    if (probe.kind === "livenessProbe" && probe.path === "/readyz")
      problems.push(`${c.where}: livenessProbe on /readyz restarts every replica when the store is down; use /healthz`);
    // /healthz stays 200 without the store: as readiness it keeps a replica that cannot answer.
    if (probe.kind === "readinessProbe" && (role === "serve" || role === "run") && probe.path !== "/readyz")
      problems.push(`${c.where}: readinessProbe of the API on ${probe.path}; use /readyz (503 while the store is unreachable or the replica drains)`);
    if (probe.port !== undefined && !listening.includes(probe.port))
      problems.push(`${c.where}: ${probe.kind} port ${probe.port} is not a port the broker listens on (${listening.join(", ") || "none"})`);
  }
  return problems;
}

// --- The alert rules' tests -------------------------------------------------------------

// Every alert of the rule file has a firing case and a quiet case in the test file.
export function checkAlertTestsCover(rulesText, testsText) {
  const rules = parse(rulesText);
  const tests = parse(testsText);
  const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => r.alert));
  const firing = new Set();
  const quiet = new Set();
  for (const t of tests.tests ?? []) {
    for (const c of t.alert_rule_test ?? []) ((c.exp_alerts ?? []).length > 0 ? firing : quiet).add(c.alertname);
  }
  const problems = [];
  for (const a of alerts) {
    if (!firing.has(a)) problems.push(`alert ${a} has no test where it fires`);
    if (!quiet.has(a)) problems.push(`alert ${a} has no test where it stays quiet`);
  }
  return { alerts, problems };
}

// --- The Grafana dashboard --------------------------------------------------------------

// Metric names in a PromQL expression: the broker's own namespaces (broker_, process_).
export function metricNames(expr) {
  return [...new Set([...String(expr).matchAll(/\b((?:broker|process)_[a-zA-Z0-9_:]*)/g)].map((m) => m[1]))];
}

// The metric names an exposition (text format 0.0.4) offers: each family and its samples.
export function exportedNames(exposition) {
  const names = new Set();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(type[1] + s);
      if (type[2] === "summary") for (const s of ["_sum", "_count"]) names.add(type[1] + s);
    } else if (line && !line.startsWith("#")) {
      names.add(line.split(/[{ ]/)[0]);
    }
  }
  return names;
}

// Every query of every panel (rows' nested panels too), with its panel's title.
export function dashboardQueries(dashboard) {
  const queries = [];
  const visit = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) queries.push({ panel: p.title, expr: t.expr });
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "object" ? v.query?.query : v.query;
    if (v.type === "query" && q) queries.push({ panel: `variable ${v.name}`, expr: q });
  }
  return queries;
}

export function checkDashboard(dashboard, exported) {
  const problems = [];
  const queries = dashboardQueries(dashboard);
  if (queries.length === 0) problems.push("the dashboard has no queries");
  for (const q of queries) {
    const names = metricNames(q.expr);
    if (names.length === 0) problems.push(`panel "${q.panel}": query names no broker metric: ${q.expr}`);
    for (const name of names) {
      if (!exported.has(name)) problems.push(`panel "${q.panel}": ${name} is not exported by the broker`);
    }
  }
  return { queries, problems };
}

export { parse, parseAllDocuments };

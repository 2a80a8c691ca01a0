// The dashboard's script: signs in through /dashboard/session, then reads and steers the
// broker through the admin API only (with the session cookie, and the session's CSRF token on
// every change), refreshing its numbers without reloading the page: when the live event stream
// (GET /admin/events) says something changed, and every few seconds while the stream is down.
"use strict";
(function () {
  const kRefreshMs = 3000;
  const kSeriesRefreshMs = 30000;
  // While the live stream is up the pool's numbers and tables are refreshed shortly after
  // events (once for a burst of them) and every 30 s besides (the window's figures move with
  // time); what no event announces (jobs, reservations and limits, deletion retries) is still
  // polled.
  const kLiveDebounceMs = 250;
  const kLiveRefreshMs = 30000;
  const kEventTypes = [
    "sandbox.allocated", "sandbox.extended", "sandbox.returned", "sandbox.expired", "sandbox.deleted",
    "sandbox.deletion_failed", "sandbox.stale", "sandbox.synced", "pool.low", "pool.recovered", "job.failed",
  ];
  const kPageSize = 50;
  const kStatuses = ["available", "allocated", "pending_deletion", "stale", "deletion_failed", "deleted"];
  const kColors = {
    available: "#2e9d57", allocated: "#3d6fd8", pending_deletion: "#e0a526",
    stale: "#8a8f99", deletion_failed: "#c9372c", deleted: "#b8bfcc",
  };

  const state = {
    session: null, api: "/v1", view: "overview", timer: null, seriesTimer: null,
    events: null, live: false, liveTimer: null, lastEvent: null, quietTimer: null,
    filter: { q: "", status: "", track: "", prefix: "" }, pages: [null], page: 0, nextCursor: null,
    charts: {}, detailId: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---- small helpers ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
    }
    return node;
  }
  function show(node, visible) { node.hidden = !visible; }
  function time(seconds) {
    if (seconds == null) return "–";
    return new Date(seconds * 1000).toLocaleString();
  }
  function duration(seconds) {
    if (seconds == null || !isFinite(seconds)) return "–";
    seconds = Math.max(0, Math.round(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min";
    return seconds + " s";
  }
  function hours(value) { return value == null ? "–" : Number(value).toFixed(1) + " h"; }
  function pairs(dl, entries) {
    dl.replaceChildren();
    for (const [label, value] of entries) {
      dl.append(el("dt", {}, label), el("dd", {}, value == null ? "–" : value));
    }
  }
  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== "" && value != null) search.set(key, value);
    const text = search.toString();
    return text ? "?" + text : "";
  }
  // Whether `data` differs from what was last rendered under `key`: unchanged parts are not
  // rebuilt, so a refresh never swaps a button out from under a click.
  const rendered = {};
  function changed(key, data) {
    const text = JSON.stringify(data);
    if (rendered[key] === text) return false;
    rendered[key] = text;
    return true;
  }
  function showActionError(message) {
    const node = $("action-error");
    node.textContent = message || "";
    show(node, Boolean(message));
  }

  // ---- the admin API ----
  class Unavailable extends Error {}
  async function api(path, options) {
    options = options || {};
    const headers = { Accept: "application/json" };
    const method = options.method || "GET";
    if (method !== "GET" && state.session) headers["X-CSRF-Token"] = state.session.csrf_token;
    const res = await fetch(state.api + path, { method, headers, credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) {
      signedOut();
      throw new Unavailable("signed out");
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const message = body && body.error ? body.error.message : "HTTP " + res.status;
      const error = new Unavailable(message);
      error.status = res.status;
      throw error;
    }
    return body;
  }

  // ---- sign-in ----
  async function loadSession() {
    const res = await fetch("/dashboard/session", { credentials: "same-origin", cache: "no-store" });
    const body = await res.json();
    if (!res.ok || !body.role) return signedOut();
    signedIn(body);
  }
  function signedIn(session) {
    state.session = session;
    state.api = session.api_base || "/v1";
    $("who").textContent = session.role;
    show($("who"), true);
    show($("sign-out"), true);
    show($("sign-in"), false);
    show($("dashboard"), true);
    refresh();
    refreshSeries();
    clearInterval(state.seriesTimer);
    state.seriesTimer = setInterval(refreshSeries, kSeriesRefreshMs);
    poll(false);
    startLive();
  }
  function signedOut() {
    state.session = null;
    stopLive();
    clearInterval(state.timer);
    clearInterval(state.quietTimer);
    clearInterval(state.seriesTimer);
    show($("who"), false);
    show($("sign-out"), false);
    show($("dashboard"), false);
    show($("sign-in"), true);
    $("token").focus();
  }
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("sign-in-error");
    show(error, false);
    const res = await fetch("/dashboard/session", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("token").value }),
    });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (res.ok && body && body.role) {
      $("token").value = "";
      signedIn(body);
      return;
    }
    error.textContent = res.status === 401 ? "Wrong token: use the admin or the viewer token."
      : res.status === 429 ? "Too many attempts: wait a moment and try again."
      : (body && body.error ? body.error.message : "Sign-in failed (HTTP " + res.status + ").");
    show(error, true);
  });
  $("sign-out").addEventListener("click", async () => {
    await fetch("/dashboard/session", { method: "DELETE", credentials: "same-origin" });
    signedOut();
  });

  // ---- live updates: the event stream, with polling while it is down ----
  function poll(live) {
    clearInterval(state.timer);
    clearInterval(state.quietTimer);
    state.quietTimer = null;
    state.timer = setInterval(refresh, live ? kLiveRefreshMs : kRefreshMs);
    if (live) state.quietTimer = setInterval(refreshUnannounced, kRefreshMs);
  }
  function startLive() {
    stopLive();
    if (!window.EventSource) return;  // polling alone
    // EventSource reconnects by itself after an error, sending the last event id, so nothing
    // is missed; meanwhile the page polls as it did before the stream.
    const source = new EventSource(state.api + "/admin/events", { withCredentials: true });
    state.events = source;
    source.addEventListener("open", () => {
      if (state.events !== source) return;
      state.live = true;
      poll(true);
      refresh();  // what changed while the stream was down
    });
    source.addEventListener("error", () => {
      if (state.events !== source) return;
      if (state.live) poll(false);
      state.live = false;
      showUpdated();
    });
    for (const type of kEventTypes) {
      source.addEventListener(type, (event) => {
        if (state.events !== source) return;
        state.lastEvent = { type, id: event.lastEventId, at: new Date() };
        clearTimeout(state.liveTimer);
        state.liveTimer = setTimeout(refresh, kLiveDebounceMs);
      });
    }
  }
  function stopLive() {
    if (state.events) state.events.close();
    state.events = null;
    state.live = false;
    clearTimeout(state.liveTimer);
  }
  function showUpdated() {
    if (!state.session) return;
    const last = state.lastEvent ? " · last event " + state.lastEvent.type + " at " +
      state.lastEvent.at.toLocaleTimeString() : "";
    $("updated").textContent = (state.live ? "live" : "polling") + " · updated " +
      new Date().toLocaleTimeString() + last;
    $("updated").dataset.live = state.live ? "true" : "false";
  }

  // ---- views ----
  for (const button of $("tabs").querySelectorAll("button")) {
    button.addEventListener("click", () => {
      state.view = button.dataset.view;
      for (const other of $("tabs").querySelectorAll("button")) other.classList.toggle("active", other === button);
      for (const view of document.querySelectorAll(".view")) show(view, view.id === "view-" + state.view);
      if (state.view === "sandboxes") loadSandboxes();
      refresh();
    });
  }

  async function refresh() {
    if (!state.session) return;
    const work = [refreshStats(), refreshJobs()];
    if (state.view === "cleanup") work.push(refreshFailures());
    if (state.view === "sandboxes") work.push(loadSandboxes(true));
    if (state.view === "quota") work.push(refreshQuota());
    await Promise.allSettled(work);
    showUpdated();
  }

  // What changes without an event: polled while the stream is up.
  async function refreshUnannounced() {
    if (!state.session) return;
    const work = [refreshJobs()];
    if (state.view === "quota") work.push(refreshQuota());
    if (state.view === "cleanup") work.push(refreshFailures());  // a retry that fails again is no event
    await Promise.allSettled(work);
  }

  // ---- overview: KPIs, runway, durations, tracks; clean-up statistics ----
  async function refreshStats() {
    let stats;
    try {
      stats = await api("/admin/stats");
    } catch (e) {
      if (e instanceof Unavailable) return;
      throw e;
    }
    // Leave out what moves every second by itself (the clock and the window's ends).
    const { now, window: statsWindow, ...shown } = stats;
    if (!changed("stats", [shown, statsWindow && statsWindow.hours])) return;
    const kpis = $("kpis");
    kpis.replaceChildren();
    for (const status of kStatuses.concat(["total"])) {
      const count = stats[status];
      let share = "";
      if (status !== "deleted" && status !== "total") {
        const pct = stats.percentages && stats.percentages[status] != null ? stats.percentages[status]
          : (stats.total ? (100 * count) / stats.total : 0);
        share = Number(pct).toFixed(1) + " %";
      }
      kpis.append(el("div", { class: "kpi", "data-kpi": status },
        el("div", { class: "label" }, status.replace("_", " ")),
        el("div", { class: "value" }, count == null ? "–" : count),
        el("div", { class: "label pct" }, share)));
    }

    const exhaustion = stats.exhaustion;
    if (!("exhaustion" in stats)) {
      $("runway").textContent = "unavailable";
      $("runway-note").textContent = "this broker does not report the allocation rate";
    } else if (exhaustion == null || exhaustion.seconds == null) {
      $("runway").textContent = "not running out";
      $("runway-note").textContent = "no allocations in the last 15 minutes";
    } else {
      $("runway").textContent = duration(exhaustion.seconds);
      const rate = stats.allocation_rate || {};
      $("runway-note").textContent = "at " + (rate.per_hour != null ? Number(rate.per_hour).toFixed(1) : "?") +
        " allocations per hour (last 15 min); empty at " + time(exhaustion.at);
    }

    const windowInfo = stats.window || {};
    const labs = stats.lab_duration || windowInfo.lab_duration;
    if (labs) {
      pairs($("durations"), [
        ["window", (windowInfo.hours != null ? windowInfo.hours + " h" : "–")],
        ["allocations", labs.allocations], ["active", labs.active], ["finished", labs.finished],
        ["average", hours(labs.average_hours)], ["longest", hours(labs.longest_hours)],
        ["shortest", hours(labs.shortest_hours)], ["total", hours(labs.total_hours)],
      ]);
    } else {
      pairs($("durations"), [["lab durations", "unavailable"]]);
    }

    const tracks = stats.tracks || windowInfo.tracks;
    const body = $("tracks");
    body.replaceChildren();
    show($("tracks-note"), !tracks || tracks.length === 0);
    $("tracks-note").textContent = tracks ? "no allocations in the window" : "unavailable";
    for (const track of tracks || []) {
      body.append(el("tr", {}, el("td", {}, track.track || "(none)"), el("td", {}, track.active), el("td", {}, track.total)));
    }

    const cleanup = stats.cleanup;
    pairs($("cleanup-stats"), cleanup ? [
      ["deleted", cleanup.deleted], ["failed", cleanup.failed], ["pending", cleanup.pending],
      ["being deleted", cleanup.being_deleted], ["retrying", cleanup.retrying],
    ] : [["clean-up statistics", "unavailable"]]);
    const niosxaas = stats.niosxaas;
    pairs($("niosxaas-stats"), niosxaas ? [
      ["cleaned", niosxaas.cleaned], ["skipped", niosxaas.skipped], ["failed", niosxaas.failed],
      ["pending", niosxaas.pending], ["last run", time(niosxaas.run_finished_at)],
    ] : [["NIOSXaaS statistics", "unavailable"]]);
  }

  // ---- charts ----
  function chart(id, config) {
    if (!window.Chart) return null;
    if (!state.charts[id]) {
      state.charts[id] = new window.Chart($(id), config);
    } else {
      state.charts[id].data = config.data;
      state.charts[id].update("none");
    }
    return state.charts[id];
  }
  function label(seconds, withDate) {
    const date = new Date(seconds * 1000);
    const hm = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return withDate ? date.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + hm : hm;
  }
  async function refreshSeries() {
    if (!state.session) return;
    const options = { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom" } }, scales: { x: { ticks: { maxTicksLimit: 8 } } } };
    try {
      const pool = await api("/admin/timeseries");
      const samples = pool.samples || [];
      show($("chart-pool-note"), samples.length === 0);
      $("chart-pool-note").textContent = "no samples yet (one a minute)";
      // Points only while there are few samples (one sample draws no line).
      const radius = samples.length > 30 ? 0 : 3;
      chart("chart-pool", { type: "line", options: Object.assign({}, options, { elements: { point: { radius } } }),
        data: { labels: samples.map((s) => label(s.at, false)),
          datasets: kStatuses.filter((s) => s !== "deleted").map((status) => ({
            label: status, data: samples.map((s) => s[status]), borderColor: kColors[status],
            backgroundColor: kColors[status], borderWidth: 2 })) } });
      const hourly = await api("/admin/timeseries?step=3600");
      const buckets = hourly.samples || [];
      show($("chart-rate-note"), buckets.length === 0);
      $("chart-rate-note").textContent = "no samples yet";
      chart("chart-rate", { type: "bar", options: Object.assign({}, options, { plugins: { legend: { display: false } } }),
        data: { labels: buckets.map((s) => label(s.at, true)),
          datasets: [{ label: "allocations", data: buckets.map((s) => s.allocations), backgroundColor: "#3d6fd8" }] } });
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      for (const id of ["chart-pool-note", "chart-rate-note"]) {
        $(id).textContent = "unavailable: " + e.message;
        show($(id), true);
      }
    }
  }

  // ---- sandboxes: search, filters, cursor paging, detail ----
  function filterParams() {
    return { q: state.filter.q, status: state.filter.status, track: state.filter.track, prefix: state.filter.prefix };
  }
  function updateCsvLink() {
    $("csv").href = state.api + "/admin/sandboxes.csv" + query(filterParams());
  }
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filter = { q: $("f-q").value.trim(), status: $("f-status").value, track: $("f-track").value.trim(),
      prefix: $("f-prefix").value.trim() };
    state.pages = [null];
    state.page = 0;
    updateCsvLink();
    loadSandboxes();
  });
  $("first-page").addEventListener("click", () => { state.pages = [null]; state.page = 0; loadSandboxes(); });
  $("next-page").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.pages = state.pages.slice(0, state.page + 1).concat([state.nextCursor]);
    state.page += 1;
    loadSandboxes();
  });

  async function loadSandboxes(quiet) {
    updateCsvLink();
    // A filtered page may come back short (the broker bounds what one page looks at): follow
    // the cursor a few times to fill the table.
    let cursor = state.pages[state.page];
    let rows = [];
    let next = null;
    try {
      for (let hop = 0; hop < 10; ++hop) {
        const page = await api("/admin/sandboxes" + query(Object.assign(filterParams(),
          { limit: kPageSize - rows.length, cursor: cursor })));
        rows = rows.concat(page.sandboxes || []);
        next = page.next_cursor;
        if (!next || rows.length >= kPageSize) break;
        cursor = next;
      }
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      $("sandboxes-note").textContent = "unavailable: " + e.message;
      show($("sandboxes-note"), true);
      return;
    }
    state.nextCursor = next;
    if (!changed("sandboxes", [rows, next, state.page]) && quiet) return;
    const body = $("sandboxes").querySelector("tbody");
    body.replaceChildren();
    for (const s of rows) {
      const row = el("tr", { class: "clickable", "data-id": s.sandbox_id },
        el("td", {}, s.sandbox_id), el("td", {}, s.name), el("td", {}, s.status),
        el("td", {}, s.allocated_to_track), el("td", {}, s.track_name),
        el("td", {}, time(s.allocated_at)), el("td", {}, time(s.expires_at)));
      row.addEventListener("click", () => openDetail(s.sandbox_id));
      body.append(row);
    }
    $("sandboxes-note").textContent = "no sandbox matches";
    show($("sandboxes-note"), rows.length === 0);
    $("next-page").disabled = !next;
    $("first-page").disabled = state.page === 0;
    $("page-info").textContent = "page " + (state.page + 1) + ", " + rows.length + " rows";
    if (!quiet) show($("detail"), false);
  }

  async function openDetail(id) {
    let sandbox;
    try {
      sandbox = await api("/admin/sandboxes/" + encodeURIComponent(id));
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      showActionError("Sandbox " + id + ": " + e.message);
      return;
    }
    $("detail-id").textContent = sandbox.sandbox_id + " (" + sandbox.name + ")";
    pairs($("detail-fields"), [
      ["status", sandbox.status], ["participant", sandbox.allocated_to_track || "–"],
      ["track", sandbox.track_name || "–"], ["external id", sandbox.external_id],
      ["allocated", time(sandbox.allocated_at)], ["expires", time(sandbox.expires_at)],
      ["deletion requested", time(sandbox.deletion_requested_at)],
      ["deletion attempts", sandbox.deletion_retry_count], ["created", time(sandbox.created_at)],
    ]);
    const history = $("detail-history");
    history.replaceChildren();
    for (const h of sandbox.history || []) {
      history.append(el("li", {}, time(h.at) + ": " + (h.from || "created") + " → " + (h.to || "removed") +
        " by " + (h.actor || "?") + (h.reason ? " (" + h.reason + ")" : "")));
    }
    if (!sandbox.history || sandbox.history.length === 0) history.append(el("li", {}, "no history"));
    show($("detail"), true);
  }
  $("detail-close").addEventListener("click", () => show($("detail"), false));

  // ---- clean-up failures ----
  async function refreshFailures() {
    const body = $("failures");
    try {
      const result = await api("/admin/cleanup/failures");
      body.replaceChildren();
      for (const f of result.failures || []) {
        body.append(el("tr", {}, el("td", {}, f.sandbox_id), el("td", {}, f.name), el("td", {}, f.reason),
          el("td", {}, f.attempts), el("td", {}, time(f.next_attempt_at))));
      }
      $("failures-note").textContent = "no failed deletions";
      show($("failures-note"), (result.failures || []).length === 0);
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      body.replaceChildren();
      $("failures-note").textContent = "unavailable: " + e.message;
      show($("failures-note"), true);
    }
  }

  // ---- reservations and track limits (read-only) ----
  // One table from one admin list: `rows` turns its items into rows; a broker without the
  // endpoint (404) or a refusal shows as unavailable in the note.
  async function fillTable(path, listName, tableId, noteId, emptyText, rows) {
    const body = $(tableId).querySelector("tbody");
    let items;
    try {
      items = (await api(path))[listName] || [];
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      body.replaceChildren();
      rendered[tableId] = null;
      $(noteId).textContent = "unavailable: " + e.message;
      show($(noteId), true);
      return;
    }
    $(noteId).textContent = emptyText;
    show($(noteId), items.length === 0);
    if (!changed(tableId, items)) return;
    body.replaceChildren(...items.map(rows));
  }
  async function refreshQuota() {
    await Promise.allSettled([
      fillTable("/admin/reservations", "reservations", "reservations", "reservations-note", "no reservations",
        (r) => el("tr", { "data-id": r.id, class: r.active ? "active" : "" },
          el("td", {}, r.track + (r.name_prefix ? " (" + r.name_prefix + "*)" : "")),
          el("td", {}, time(r.starts_at) + " – " + time(r.ends_at)),
          el("td", {}, r.count), el("td", {}, r.used), el("td", { class: "outstanding" }, r.outstanding),
          el("td", { class: r.shortfall > 0 ? "shortfall short" : "shortfall" }, r.shortfall))),
      fillTable("/admin/tracks/limits", "limits", "limits", "limits-note", "no track limits",
        (l) => el("tr", { "data-track": l.track },
          el("td", {}, l.track), el("td", {}, l.max_active), el("td", {}, l.active))),
    ]);
  }

  // ---- jobs ----
  function resultSummary(result) {
    if (!result) return "–";
    const counts = Object.entries(result.counts || {}).filter(([, n]) => n).map(([k, n]) => k + " " + n);
    const text = counts.length ? counts.join(", ") : "nothing to do";
    return (result.errors && result.errors.length ? result.errors.length + " errors; " : "") + text;
  }
  async function jobAction(name, action) {
    showActionError("");
    try {
      await api("/admin/jobs/" + encodeURIComponent(name) + "/" + action, { method: "POST" });
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      showActionError("Refused: " + e.message);
    }
    await refreshJobs();
  }
  async function refreshJobs() {
    let result;
    try {
      result = await api("/admin/jobs");
    } catch (e) {
      if (e instanceof Unavailable) return;
      throw e;
    }
    if (!changed("jobs", result.jobs)) return;
    const body = $("jobs").querySelector("tbody");
    body.replaceChildren();
    for (const job of result.jobs || []) {
      const stateText = job.paused ? "paused" : job.running ? "running" : "idle";
      const outcome = job.last_ok == null ? "–" : job.last_ok ? "ok" : "failed";
      const pause = el("button", { type: "button", "data-action": job.paused ? "resume" : "pause" },
        job.paused ? "Resume" : "Pause");
      pause.addEventListener("click", () => jobAction(job.name, job.paused ? "resume" : "pause"));
      const run = el("button", { type: "button", "data-action": "run" }, "Run now");
      run.disabled = job.paused;
      run.addEventListener("click", () => jobAction(job.name, "run"));
      body.append(el("tr", { "data-job": job.name },
        el("td", {}, job.name), el("td", { class: "job-state" }, stateText),
        el("td", {}, time(job.last_finished_at)),
        el("td", { class: outcome === "failed" ? "failed" : "ok" }, outcome + ": " + resultSummary(job.last_result)),
        el("td", {}, time(job.next_run_at)), el("td", {}, pause, " ", run)));
    }
  }

  loadSession();
})();

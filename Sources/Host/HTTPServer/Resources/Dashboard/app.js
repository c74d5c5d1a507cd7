// Arbiter's dashboard: one page of plain JavaScript over the server's own
// JSON API (no framework, nothing fetched from elsewhere). The API key lives
// in sessionStorage for this browser tab only: never in a URL or a cookie.
"use strict";

const state = { key: sessionStorage.getItem("arbiter-key"), tenant: null, admin: false, timer: null };
const main = document.getElementById("main");

// ---- Talking to the API -------------------------------------------------

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || "HTTP " + status);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + state.key };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET", headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (!response.ok) {
    let body = null;
    try { body = JSON.parse(text); } catch (_) { /* not JSON */ }
    if (response.status === 401 && !options.signingIn) signOut("The API key is no longer accepted: " + new APIError(401, body).message);
    throw new APIError(response.status, body);
  }
  return options.raw ? text : JSON.parse(text);
}

// ---- Building the page ---------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function errorBox(error) {
  return el("p", { class: "error", role: "alert", "data-testid": "error" }, error.message || String(error));
}

// Numbers as the API gives them, rounded for reading; the exact value is in
// data-value for whoever checks the page against the API.
function num(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const text = Number(value).toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;  // -0.0003 reads 0.000, not -0.000
}

function cell(value, field, digits) {
  return el("td", { class: "num", "data-field": field, "data-value": value === null || value === undefined ? "" : String(value) }, num(value, digits));
}

// Where a plugin version is used: the experiments the API names (at most
// ten), each kept on one line, and an ellipsis when it runs more strategies.
function usedBy(version) {
  if (version.experiments.length === 0) return ["–"];
  const keys = version.experiments.flatMap((key, index) => [index ? ", " : "", el("span", { class: "nowrap" }, key)]);
  return version.experiments.length >= 10 && version.strategies > version.experiments.length ? [...keys, ", …"] : keys;
}

function time(text) {
  return text ? text.replace("T", " ").replace("Z", " UTC") : "–";
}

function table(headers, rows, attributes = {}) {
  return el("table", attributes,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { class: h.num ? "num" : null }, h.label || h)))),
    el("tbody", {}, rows));
}

// An SVG chart drawn by the server, fetched with the key and put inline.
async function chart(path, label) {
  const box = el("div", { class: "chart", "data-chart": label }, el("p", { class: "muted" }, "Drawing…"));
  try {
    const svg = await api(path, { raw: true });
    const parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
    if (parsed.nodeName !== "svg") throw new Error("the chart is not SVG");
    box.replaceChildren(document.importNode(parsed, true));
  } catch (error) {
    box.replaceChildren(errorBox(error));
  }
  return box;
}

function confirmAction(message) {
  return window.confirm(message);
}

// ---- Sign-in ---------------------------------------------------------------

function signOut(message) {
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  sessionStorage.removeItem("arbiter-key");
  Object.assign(state, { key: null, tenant: null, admin: false });
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  signIn(message);
}

function signIn(message) {
  const input = el("input", { type: "password", id: "api-key", name: "api-key", autocomplete: "off", placeholder: "arb_…", required: true });
  const status = el("div", {}, message ? el("p", { class: "error", role: "alert", "data-testid": "error" }, message) : null);
  const form = el("form", { class: "signin card", id: "sign-in" },
    el("h1", {}, "Sign in"),
    el("p", { class: "muted" }, "Paste an API key. It is kept for this browser tab only; closing the tab forgets it."),
    el("label", { for: "api-key" }, "API key"), input,
    el("button", { type: "submit", id: "sign-in-button" }, "Sign in"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    state.key = input.value.trim();
    try {
      await startSession(true);
      sessionStorage.setItem("arbiter-key", state.key);
      if (!location.hash || location.hash === "#/") location.hash = "#/experiments";
      else route();
    } catch (error) {
      state.key = null;
      status.replaceChildren(errorBox(error.status === 401 ? new Error("This API key is not valid: " + error.message) : error));
    }
  });
  show(form);
  input.focus();
}

async function startSession(signingIn) {
  const tenant = await api("/v1/tenant", { signingIn });
  state.tenant = tenant.name;
  state.admin = tenant.admin === true;
  document.getElementById("who").textContent = "tenant " + state.tenant + (state.admin ? " · admin" : " · read-only");
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = !state.admin;
}

// ---- Experiments -----------------------------------------------------------

// The list's totals at the last refresh, for the rates per second.
let lastTotals = { at: 0, figures: {} };

async function experimentsPage(params, refreshing = false) {
  const query = params.get("q") || "";
  const cursor = params.get("cursor") || "";
  const search = el("input", { type: "search", name: "q", value: query, placeholder: "Search keys", "aria-label": "Search experiments" });
  const form = el("form", { class: "inline", id: "search" }, search, el("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = "#/experiments?q=" + encodeURIComponent(search.value);
  });
  if (refreshing) {
    // Not while someone is typing a search.
    const current = document.querySelector("#search input");
    if (!current || current === document.activeElement || current.value !== query) return;
  } else {
    show(el("h1", {}, "Experiments"), form, el("p", { class: "muted" }, "Loading…"));
  }
  let page;
  try {
    page = await api("/v1/experiments?limit=50" + (query ? "&q=" + encodeURIComponent(query) : "") + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
  } catch (error) {
    return show(el("h1", {}, "Experiments"), form, errorBox(error));
  }
  // Per experiment: decisions, feedback and the leading arm, from the
  // learning API's per-arm figures of the same page.
  const figures = {};
  try {
    // Unfiltered, the learning API's page is the same page of experiments;
    // a search's experiments are asked for one by one.
    const agents = query
      ? (await Promise.all(page.experiments.map((e) => api("/api/learning/agents/performance?task_type=" + encodeURIComponent(e.key))))).flatMap((p) => p.agents || [])
      : (await api("/api/learning/agents/performance?limit=50" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""))).agents || [];
    for (const arm of agents) {
      const entry = figures[arm.task_type] || (figures[arm.task_type] = { decisions: 0, feedback: 0, leader: null });
      entry.decisions += arm.decisions;
      entry.feedback += arm.feedback_count;
      if (arm.mean_reward !== null && (entry.leader === null || arm.mean_reward > entry.leader.mean)) entry.leader = { arm: arm.agent, mean: arm.mean_reward };
    }
  } catch (_) { /* figures are optional on this page */ }
  // Decisions and feedback per second: the change in the totals since the
  // last refresh (every 5 seconds), once there is one.
  const now = Date.now();
  const elapsed = (now - lastTotals.at) / 1000;
  const rate = (key, field) => {
    const before = lastTotals.figures[key];
    return before && figures[key] && elapsed > 0 && elapsed < 60 ? Math.max(0, figures[key][field] - before[field]) / elapsed : null;
  };
  const rates = {};
  for (const experiment of page.experiments) rates[experiment.key] = { decisions: rate(experiment.key, "decisions"), feedback: rate(experiment.key, "feedback") };
  lastTotals = { at: now, figures: JSON.parse(JSON.stringify(figures)) };
  const rows = page.experiments.map((experiment) => {
    const f = figures[experiment.key];
    return el("tr", { "data-experiment": experiment.key },
      el("td", {}, el("a", { href: "#/experiments/" + encodeURIComponent(experiment.key) }, experiment.key)),
      el("td", {}, el("span", { class: "badge " + experiment.status }, experiment.status)),
      el("td", {}, experiment.arms.length + " arms"),
      el("td", {}, experiment.strategies.map((s) => s.name + " " + Math.round(s.traffic_share * 100) + "%").join(", ")),
      cell(f ? f.decisions : null, "decisions"), cell(rates[experiment.key].decisions, "decisions_per_second", 1),
      cell(f ? f.feedback : null, "feedback"), cell(rates[experiment.key].feedback, "feedback_per_second", 1),
      cell(f && f.decisions ? f.feedback / f.decisions : null, "join_rate"),
      el("td", { "data-field": "leader" }, f && f.leader ? f.leader.arm : "–"));
  });
  const pager = el("div", { class: "pager" },
    cursor ? el("a", { href: "#/experiments" + (query ? "?q=" + encodeURIComponent(query) : "") }, "First page") : null,
    page.next ? el("a", { href: "#/experiments?cursor=" + encodeURIComponent(page.next) + (query ? "&q=" + encodeURIComponent(query) : ""), id: "next-page" }, "Next page") : null);
  show(el("h1", {}, "Experiments"), form,
    el("section", { class: "card" }, rows.length
      ? table(["Experiment", "Status", "Arms", "Strategies and traffic", { label: "Decisions", num: true }, { label: "Per second", num: true },
          { label: "Feedback", num: true }, { label: "Per second", num: true }, { label: "Join rate", num: true }, "Leading arm"], rows, { id: "experiments" })
      : el("p", { class: "muted" }, query ? "No experiment key contains “" + query + "”." : "No experiments yet.")),
    pager, el("p", { class: "muted" }, "Rates per second from the change since the last refresh (every 5 seconds)."));
  if (!state.timer) state.timer = setInterval(() => experimentsPage(params, true).catch(() => {}), 5000);
}

async function experimentPage(key) {
  show(el("h1", {}, key), el("p", { class: "muted" }, "Loading…"));
  let experiment, report, changes;
  try {
    [experiment, report, changes] = await Promise.all([
      api("/v1/experiments/" + encodeURIComponent(key)),
      api("/v1/experiments/" + encodeURIComponent(key) + "/report"),
      api("/v1/experiments/" + encodeURIComponent(key) + "/changes?limit=50"),
    ]);
  } catch (error) {
    return show(el("h1", {}, key), errorBox(error));
  }
  const notice = el("div", { id: "notice" });
  const strategyRows = report.strategies.map((s) => el("tr", { "data-strategy": s.name },
    el("td", {}, s.name), el("td", {}, s.plugin + (s.plugin_version ? " " + s.plugin_version : "")),
    cell(s.weight, "weight"), cell(s.traffic_share, "traffic_share"), cell(s.decisions, "decisions"), cell(s.feedback, "feedback"),
    cell(s.join_rate, "join_rate"), cell(s.mean_reward, "mean_reward"),
    el("td", { class: "num" }, s.interval ? "[" + num(s.interval.lower) + ", " + num(s.interval.upper) + "]" : "–"),
    cell(s.probability_best, "probability_best"), cell(s.expected_loss, "expected_loss"),
    el("td", { class: "num" }, s.difference ? num(s.difference.value) + " [" + num(s.difference.lower) + ", " + num(s.difference.upper) + "]" : "–")));
  const armRows = report.strategies.flatMap((s) => s.arms.map((a) => el("tr", { "data-strategy": s.name, "data-arm": a.name },
    el("td", {}, s.name), el("td", {}, a.name), cell(a.decisions, "decisions"), cell(a.feedback, "feedback"), cell(a.mean_reward, "mean_reward"),
    el("td", { class: "num" }, a.interval ? "[" + num(a.interval.lower) + ", " + num(a.interval.upper) + "]" : "–"),
    cell(a.probability_best, "probability_best"))));
  const parts = [
    el("h1", {}, key, " ", el("span", { class: "badge " + experiment.status }, experiment.status)),
    el("p", { class: "muted" }, experiment.arms.length + " arms · assignment " + experiment.assignment + " · created " + time(experiment.created_at)),
    notice,
    el("h2", {}, "Strategies"),
    el("section", { class: "card" }, table(["Strategy", "Plugin", { label: "Weight", num: true }, { label: "Traffic", num: true }, { label: "Decisions", num: true },
      { label: "Feedback", num: true }, { label: "Join rate", num: true }, { label: "Mean reward", num: true }, { label: "95% interval", num: true },
      { label: "P(best)", num: true }, { label: "Expected loss", num: true }, { label: "vs " + (report.control || "control"), num: true }], strategyRows, { id: "strategies" })),
    el("h2", {}, "Arms: mean reward and 95% interval"),
    el("section", { class: "card" }, await chart("/v1/experiments/" + encodeURIComponent(key) + "/arms.svg", "arms"),
      table(["Strategy", "Arm", { label: "Decisions", num: true }, { label: "Feedback", num: true }, { label: "Mean reward", num: true }, { label: "95% interval", num: true }, { label: "P(best)", num: true }], armRows, { id: "arms" })),
    el("h2", {}, "Reward and traffic over time, with the changes"),
    el("section", { class: "card" }, await chart("/v1/experiments/" + encodeURIComponent(key) + "/report.svg", "timeline")),
  ];
  if (state.admin) parts.push(el("h2", {}, "Weights"), weightForm(key, experiment, notice));
  parts.push(el("h2", {}, "Versions"), await versionsSection(key, experiment, notice));
  parts.push(el("h2", {}, "Off-policy estimates"), evaluationForm(key, experiment));
  parts.push(el("h2", {}, "Changes"), el("section", { class: "card" }, changes.changes.length
    ? table(["When", "Action", "By", "After"], changes.changes.map((c) => el("tr", { "data-change": c.action },
      el("td", {}, time(c.at)), el("td", {}, c.action), el("td", {}, c.actor || "host"),
      el("td", { class: "muted" }, c.after === null ? "–" : JSON.stringify(c.after).slice(0, 160)))), { id: "changes" })
    : el("p", { class: "muted" }, "No changes recorded.")));
  show(...parts);
}

function weightForm(key, experiment, notice) {
  const inputs = experiment.strategies.map((s) => el("input", { type: "number", min: "0", step: "any", value: String(s.weight), name: s.name, "data-weight": s.name, "aria-label": "Weight of " + s.name }));
  const form = el("form", { class: "inline", id: "weights" },
    experiment.strategies.map((s, i) => [el("label", {}, s.name), inputs[i]]),
    el("button", { type: "submit" }, "Change weights"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const strategies = experiment.strategies.map((s, i) => ({ name: s.name, plugin: s.plugin, weight: Number(inputs[i].value) }));
    if (!confirmAction("Change the weights of " + key + " to " + strategies.map((s) => s.name + " " + s.weight).join(", ") + "?")) return;
    try {
      await api("/v1/experiments/" + encodeURIComponent(key), { method: "PATCH", body: { strategies } });
      await experimentPage(key);
      document.getElementById("notice").replaceChildren(el("p", { class: "notice", role: "status" }, "Weights changed."));
    } catch (error) {
      notice.replaceChildren(errorBox(error));
    }
  });
  return el("section", { class: "card" }, form);
}

async function versionsSection(key, experiment, notice) {
  const sections = [];
  for (const strategy of experiment.strategies) {
    let versions;
    try {
      versions = await api("/v1/experiments/" + encodeURIComponent(key) + "/strategies/" + encodeURIComponent(strategy.name) + "/versions?limit=20");
    } catch (error) {
      sections.push(errorBox(error));
      continue;
    }
    const rows = versions.versions.map((v) => el("tr", { "data-strategy": strategy.name, "data-version": String(v.version) },
      el("td", {}, strategy.name), cell(v.version, "version"), el("td", {}, el("span", { class: "badge " + v.status }, v.status)),
      el("td", {}, v.reason), cell(v.watermark, "watermark"), el("td", {}, v.plugin + " " + v.plugin_version), el("td", {}, time(v.created_at)),
      el("td", {}, state.admin && v.status !== "active" ? el("button", {
        type: "button", class: "secondary", "data-rollback": strategy.name + ":" + v.version,
        onclick: async () => {
          if (!confirmAction("Roll strategy " + strategy.name + " of " + key + " back to version " + v.version + "? Its state becomes that version's.")) return;
          try {
            await api("/v1/experiments/" + encodeURIComponent(key) + "/strategies/" + encodeURIComponent(strategy.name) + "/rollback", { method: "POST", body: { version: v.version } });
            await experimentPage(key);
            document.getElementById("notice").replaceChildren(el("p", { class: "notice", role: "status" }, "Rolled " + strategy.name + " back to version " + v.version + "."));
          } catch (error) {
            notice.replaceChildren(errorBox(error));
          }
        },
      }, "Roll back") : null)));
    sections.push(rows.length ? table(["Strategy", { label: "Version", num: true }, "Status", "Reason", { label: "Events", num: true }, "Plugin", "Saved"], rows)
      : el("p", { class: "muted" }, strategy.name + ": no saved version yet (one is saved every 10,000 events or minute, and at shutdown)."));
  }
  return el("section", { class: "card", id: "versions" }, sections);
}

function evaluationForm(key, experiment) {
  const input = el("input", { type: "text", name: "candidates", value: "thompson, epsilon-greedy, ucb", size: 40, "aria-label": "Candidate strategies" });
  const result = el("div", {});
  const form = el("form", { class: "inline", id: "evaluate" }, el("label", {}, "Candidates"), input, el("button", { type: "submit" }, "Estimate"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren(el("p", { class: "muted" }, "Replaying the logged decisions…"));
    const candidates = input.value.split(",").map((s) => s.trim()).filter(Boolean).map((plugin) => ({ plugin }));
    try {
      const answer = await api("/v1/experiments/" + encodeURIComponent(key) + "/evaluate", { method: "POST", body: { candidates } });
      const estimators = [["ips", "IPS"], ["snips", "SNIPS"], ["doubly_robust", "Doubly robust"]];
      result.replaceChildren(
        el("p", { class: "muted" }, num(answer.decisions) + " logged decisions, " + num(answer.decisions_with_feedback) + " with feedback."),
        table(["Candidate", "Estimator", { label: "Estimate", num: true }, { label: "95% interval", num: true }, { label: "ESS", num: true }, { label: "No support", num: true }, "Notes"],
          (answer.candidates || []).flatMap((c) => estimators.map(([field, label]) => {
            const e = c[field];
            return el("tr", { "data-candidate": c.label, "data-estimator": field },
              el("td", {}, c.label), el("td", {}, label), cell(e ? e.value : null, "estimate"),
              el("td", { class: "num" }, e ? "[" + num(e.low) + ", " + num(e.high) + "]" : "–"),
              cell(c.effective_sample_size, "ess"), cell(c.zero_support_share, "zero_support_share"),
              el("td", { class: "muted" }, [c.failure, ...(c.warnings || [])].filter(Boolean).join("; ")));
          })), { id: "estimates" }));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  });
  return el("section", { class: "card" }, el("p", { class: "muted" }, "What each candidate would have earned on this experiment's logged decisions (IPS, SNIPS, doubly robust; see Docs/evaluation.md)."), form, result);
}

// ---- Plugins ---------------------------------------------------------------

async function pluginsPage() {
  if (!state.admin) return show(el("h1", {}, "Plugins"), errorBox(new Error("The plugins page needs an admin key.")));
  let listing;
  try {
    listing = await api("/v1/plugins");
  } catch (error) {
    return show(el("h1", {}, "Plugins"), errorBox(error));
  }
  const notice = el("div", {});
  const reload = el("button", { type: "button", id: "reload" }, "Reload plugins");
  reload.addEventListener("click", async () => {
    if (!confirmAction("Load new builds from the plugin directory? Each is checked before it serves.")) return;
    reload.disabled = true;
    try {
      const answer = await api("/v1/plugins/reload", { method: "POST", body: {} });
      await pluginsPage();
      main.prepend(el("p", { class: "notice", role: "status" }, "Reloaded: " + JSON.stringify(answer).slice(0, 200)));
    } catch (error) {
      notice.replaceChildren(errorBox(error));
      reload.disabled = false;
    }
  });
  show(el("h1", {}, "Plugins"), notice,
    el("p", { class: "muted" }, "Host ABI " + listing.host_abi_version + ". Old versions stay loaded (never unloaded); the active one serves new strategies."),
    el("section", { class: "card" }, table(["Plugin", "Version", "Active", { label: "Strategies", num: true }, "Used by", { label: "Faults", num: true }, "SHA-256"],
      listing.versions.map((v) => el("tr", { "data-plugin": v.name, "data-version": v.version },
        el("td", {}, v.name), el("td", {}, v.version), el("td", {}, v.active ? el("span", { class: "badge active" }, "active") : "resident"),
        cell(v.strategies, "strategies"), el("td", { class: "wrap" }, ...usedBy(v)), cell(v.faults, "faults"),
        el("td", { class: "muted" }, (v.sha256 || "").slice(0, 12)))), { id: "plugin-versions" })),
    el("h2", {}, "Refused files"),
    el("section", { class: "card" }, listing.refused.length
      ? table(["File", "Reason"], listing.refused.map((r) => el("tr", {}, el("td", {}, r.file), el("td", {}, el("span", { class: "badge refused" }, r.reason)))))
      : el("p", { class: "muted" }, "None.")),
    reload);
}

// ---- Health ----------------------------------------------------------------

async function healthPage() {
  const box = el("div", { id: "health" }, el("p", { class: "muted" }, "Loading…"));
  show(el("h1", {}, "Health"), el("p", { class: "muted" }, "Updates every 3 seconds."), box);
  const refresh = async () => {
    try {
      const [status, metrics] = await Promise.all([api("/api/learning/status"), api("/api/learning/metrics")]);
      const stat = (label, value, field) => el("div", { class: "stat" }, el("b", { "data-field": field, "data-value": String(value) }, value === null || value === undefined ? "–" : num(value, 1)), el("span", {}, label));
      const kafka = status.kafka || { enabled: false };
      box.replaceChildren(
        el("div", { class: "grid" },
          stat("feedback queue depth", status.updater.queue_depth, "queue_depth"),
          stat("decision log depth", status.updater.decision_log_depth, "decision_log_depth"),
          stat("event-to-model p99 (ms)", metrics.event_processing_latency_ms.p99, "latency_p99"),
          stat("events per second", metrics.throughput.events_per_second, "events_per_second"),
          stat("decisions per second", metrics.throughput.decisions_per_second, "decisions_per_second"),
          stat("resident memory (MiB)", metrics.memory.rss_bytes === null ? null : metrics.memory.rss_bytes / 1048576, "rss_mib"),
          stat("experiments in memory", status.experiments.in_memory, "in_memory"),
          stat("uptime (s)", Math.round(status.uptime_seconds), "uptime")),
        el("h2", {}, "Kafka"),
        el("section", { class: "card", id: "kafka" }, kafka.enabled
          ? [el("p", {}, "State: " + kafka.state + " · messages " + num(kafka.messages) + " · malformed " + num(kafka.malformed) + " · dead-lettered " + num(kafka.dead_lettered)),
             table(["Topic", { label: "Partition", num: true }, "Assigned", { label: "Stored offset", num: true }, { label: "Lag", num: true }],
               (kafka.partitions || []).map((p) => el("tr", {}, el("td", {}, p.topic), cell(p.partition, "partition"), el("td", {}, p.assigned ? "yes" : "no"), cell(p.stored_offset, "stored_offset"), cell(p.lag, "lag"))))]
          : el("p", { class: "muted" }, "Not configured (see Docs/kafka.md).")),
        el("p", { class: "muted", id: "updated" }, "Updated " + new Date().toLocaleTimeString()));
    } catch (error) {
      box.replaceChildren(errorBox(error));
    }
  };
  await refresh();
  state.timer = setInterval(refresh, 3000);
}

// ---- Routing ---------------------------------------------------------------

async function route() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  if (!state.key) return signIn();
  const [path, query] = (location.hash.slice(1) || "/experiments").split("?");
  const params = new URLSearchParams(query || "");
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", path.startsWith(link.getAttribute("href").slice(1)));
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts[0] === "experiments" && parts.length > 1) return await experimentPage(decodeURIComponent(parts.slice(1).join("/")));
    if (parts[0] === "plugins") return await pluginsPage();
    if (parts[0] === "health") return await healthPage();
    return await experimentsPage(params);
  } catch (error) {
    show(errorBox(error));
  }
}

document.getElementById("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
(async () => {
  if (state.key) {
    try { await startSession(false); } catch (error) { return signOut("Signed out: " + error.message); }
  }
  route();
})();

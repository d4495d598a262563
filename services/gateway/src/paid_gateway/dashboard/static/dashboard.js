// Paid's dashboard: reads the gateway's API with the token kept in this browser, follows the live
// streams (server-sent events read through fetch, so the token travels in the Authorization header).
"use strict";

const TOKEN_KEY = "paid.token";
const $ = (selector) => document.querySelector(selector);
let streams = [];

function token() { return localStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) { signOut("Your token was refused; sign in again."); throw new Error("unauthorized"); }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error(body?.detail || `HTTP ${response.status}`);
  return body;
}

// Reads a text/event-stream response and calls onEvent(name, data) per event; resolves when it closes.
async function follow(path, onEvent, signal) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` }, signal });
  if (!response.ok) throw new Error(`stream ${path}: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// Follows a stream, reconnecting after a pause if it breaks (not when it ends on purpose).
function keepFollowing(path, onEvent, onState, { reconnect = () => true } = {}) {
  const controller = new AbortController();
  streams.push(controller);
  (async () => {
    while (!controller.signal.aborted) {
      try {
        onState("live");
        await follow(typeof path === "function" ? path() : path, onEvent, controller.signal);
        if (!reconnect()) { onState("ended"); return; }
      } catch (error) {
        if (controller.signal.aborted) return;
        onState("reconnecting");
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

function stopStreams() { streams.forEach((c) => c.abort()); streams = []; }

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}
function money(value) { return value == null ? "" : `$${Number(value).toFixed(2)}`; }
function when(value) { return value ? new Date(value).toLocaleString() : ""; }
function show(id) { for (const s of ["login", "home", "run", "prompts", "experiments", "budgets", "queue"]) $(`#${s}`).hidden = s !== id; }

function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  stopStreams();
  $("#login-error").textContent = message || "";
  $("#whoami").textContent = "";
  $("#logout").hidden = true;
  show("login");
}

// ---- home: live runs, projects, costs ------------------------------------------------------------
const runs = new Map();

function renderRuns() {
  const body = $("#runs tbody");
  const sorted = [...runs.values()].sort((a, b) => (b.started_at || b.updated_at).localeCompare(a.started_at || a.updated_at));
  body.replaceChildren(...sorted.map((run) => {
    const row = el("tr", null, { "data-run-id": run.run_id });
    row.append(el("td", run.run_id.slice(0, 8)), el("td", run.project || run.repo), el("td", `#${run.issue_number}`));
    row.append(el("td", run.status, { class: `status status-${run.status}` }), el("td", when(run.started_at)), el("td", money(run.cost_usd)));
    row.addEventListener("click", () => { location.hash = `#/runs/${run.run_id}`; });
    return row;
  }));
  $("#no-runs").hidden = runs.size > 0;
  renderProjectsFromRuns();
}

let projectsFromRegistry = false;
function renderProjectsFromRuns() {
  if (projectsFromRegistry) return;
  const byProject = new Map();
  for (const run of runs.values()) {
    const key = run.project || run.repo;
    const entry = byProject.get(key) || { runs: 0, running: 0, cost: 0 };
    entry.runs += 1; entry.running += run.status === "running" ? 1 : 0; entry.cost += run.cost_usd || 0;
    byProject.set(key, entry);
  }
  $("#projects tbody").replaceChildren(...[...byProject].map(([name, e]) => {
    const row = el("tr");
    row.append(el("td", name), el("td", e.runs), el("td", e.running), el("td", money(e.cost)));
    return row;
  }));
  $("#projects-source").textContent = "Projects seen in recent runs.";
}

async function loadProjects() {
  // The projects registry (GET /api/projects) is used when the gateway has it.
  try {
    const projects = await api("/api/projects");
    const list = Array.isArray(projects) ? projects : projects.projects || [];
    projectsFromRegistry = true;
    $("#projects tbody").replaceChildren(...list.map((p) => {
      const row = el("tr");
      const name = p.repository;
      const mine = [...runs.values()].filter((r) => (r.project || r.repo) === name);
      row.append(el("td", name), el("td", mine.length), el("td", mine.filter((r) => r.status === "running").length),
        el("td", money(mine.reduce((sum, r) => sum + (r.cost_usd || 0), 0))));
      return row;
    }));
    $("#projects-source").textContent = "From the projects registry.";
    showAgentForm(list);
  } catch { /* no registry on this gateway: projects come from the runs */ }
}

async function loadCosts() {
  const { costs } = await api("/api/costs");
  $("#costs tbody").replaceChildren(...costs.map((c) => {
    const row = el("tr");
    row.append(el("td", c.day), el("td", c.project), el("td", c.runs), el("td", c.input_tokens + c.output_tokens), el("td", money(c.cost_usd)));
    return row;
  }));
}

function openHome() {
  show("home");
  runs.clear();
  renderRuns();
  loadProjects();
  loadCosts().catch((error) => console.error(error));
  keepFollowing("/api/runs/stream", (name, data) => {
    if (name === "run") { runs.set(data.run_id, data); renderRuns(); }
    if (name === "run" && data.status !== "running") loadCosts().catch(() => {});
  }, (state) => { $("#live").textContent = state; });
}

// ---- routing and start -----------------------------------------------------------------------------
async function route() {
  stopStreams();
  if (!token()) { show("login"); return; }
  const match = location.hash.match(/^#\/runs\/(.+)$/);
  const experiment = location.hash.match(/^#\/experiments(?:\/(.+))?$/);
  try {
    if (match) await openRun(decodeURIComponent(match[1]));
    else if (location.hash === "#/prompts") await openPrompts();
    else if (location.hash === "#/budgets") await openBudgets();
    else if (location.hash === "#/queue") await openQueue();
    else if (experiment) await openExperiments(experiment[1] && decodeURIComponent(experiment[1]));
    else openHome();
  } catch (error) {
    if (error.message !== "unauthorized") { show("home"); $("#live").textContent = error.message; }
  }
}

async function signIn(candidate) {
  localStorage.setItem(TOKEN_KEY, candidate);
  try {
    const me = await api("/api/me");
    $("#whoami").textContent = `${me.name} (${me.role})`;
    $("#logout").hidden = false;
    return true;
  } catch (error) {
    if (error.message !== "unauthorized") signOut(error.message);
    return false;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await signIn($("#token").value.trim())) route();
  });
  $("#logout").addEventListener("click", () => signOut());
  $("#cancel").addEventListener("click", () => control("cancel", { reason: "cancelled from the dashboard" }));
  $("#pause").addEventListener("click", () => control("pause"));
  $("#resume").addEventListener("click", () => control("resume"));
  $("#instruct").addEventListener("click", () => {
    const text = $("#instruction").value.trim();
    if (text) control("instruct", { text }).then(() => { $("#instruction").value = ""; });
  });
  installEvolutionControls();
  window.addEventListener("hashchange", route);
  if (token() && !(await signIn(token()))) return;
  route();
});

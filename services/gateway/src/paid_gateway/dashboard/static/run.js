// A run's page: its facts, its attempts and rounds, steps, the live output tail and the controls.
// Uses api, el, $, money, when, show and keepFollowing from dashboard.js.
"use strict";

let currentRun = null;

function renderRun(run) {
  currentRun = run;
  $("#run-title").textContent = `${run.repo} #${run.issue_number} — run ${run.run_id.slice(0, 8)}`;
  $("#run-status").textContent = run.status;
  $("#run-status").className = `status-${run.status}`;
  $("#run-detail").textContent = run.detail || "";
  const running = run.status === "running";
  for (const id of ["#cancel", "#pause", "#resume", "#instruct"]) $(id).disabled = !running;
  const facts = [["agent", run.agent], ["prompt version", run.prompt_version], ["started", when(run.started_at)],
    ["finished", when(run.finished_at)], ["this run", kindOf(run)], ["iterations", run.iterations],
    ["model", run.model],
    ["tokens", run.input_tokens == null ? "" : `${run.input_tokens} in / ${run.output_tokens} out`],
    ["token kinds", tokenKinds(run)], ["cost", money(run.cost_usd)], ["trace id", run.trace_id], ["workflow", run.workflow_id]];
  $("#run-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", k), el("dd", v ?? "")]));
}

// Cache reads and writes are parts of the input tokens, reasoning a part of the output tokens.
function tokenKinds(run) {
  const kinds = [["cache read", run.cache_read_tokens], ["cache write", run.cache_write_tokens],
    ["reasoning", run.reasoning_tokens]];
  return kinds.filter(([, n]) => n != null).map(([name, n]) => `${n} ${name}`).join(", ");
}

// Each iteration's change against the base and its checks. A check's output was written in the agent's
// sandbox: it is shown as text only (textContent), never parsed as HTML.
function renderIterations(iterations) {
  $("#iterations-note").textContent = iterations.length ? "" : "No iteration was reported for this run.";
  $("#iterations tbody").replaceChildren(...iterations.map((it) => {
    const checks = el("td");
    for (const check of it.checks) {
      const verdict = check.passed ? "passed" : `failed (exit ${check.exit_code})`;
      const item = el("div", `${check.command}: ${verdict}`, { class: check.passed ? "check-passed" : "check-failed" });
      if (check.output_tail) {
        const more = el("details");
        more.append(el("summary", "output"), el("pre", check.output_tail));
        item.append(more);
      }
      checks.append(item);
    }
    if (it.budget_exceeded) checks.append(el("div", "stopped: budget exceeded"));
    return rowOf(it, checks);
  }));
}

function rowOf(it, checks) {
  const row = el("tr", null, { "data-iteration": it.number });
  row.append(el("td", it.number), el("td", it.files_changed), el("td", `+${it.insertions}`),
    el("td", `-${it.deletions}`), checks, el("td", it.tokens), el("td", money(it.cost_usd)));
  return row;
}

function kindOf(run) { return run.round == null ? `attempt ${run.attempt}` : `round ${run.round} on its pull request`; }

// Every run of the same issue: its attempts (a retry is a new execution) and the follow-up rounds on
// the pull request an attempt opened, oldest first.
async function loadAttempts(run) {
  const { runs } = await api(`/api/runs?repo=${encodeURIComponent(run.repo)}&issue=${run.issue_number}&limit=100`);
  runs.sort((a, b) => (a.started_at || a.updated_at).localeCompare(b.started_at || b.updated_at));
  $("#attempts tbody").replaceChildren(...runs.map((other) => {
    const row = el("tr", null, { "data-attempt-run": other.run_id });
    const cell = el("td");
    const link = el("a", kindOf(other), { href: `#/runs/${encodeURIComponent(other.run_id)}` });
    if (other.run_id === run.run_id) link.setAttribute("aria-current", "page");
    cell.append(link);
    const tokens = other.input_tokens == null ? "" : other.input_tokens + other.output_tokens;
    row.append(cell, el("td", other.status, { class: `status status-${other.status}` }), el("td", when(other.started_at)),
      el("td", other.agent), el("td", other.prompt_version), el("td", other.iterations), el("td", tokens),
      el("td", money(other.cost_usd)));
    return row;
  }));
}

function renderLinks(links) {
  const items = [["Temporal workflow", links.temporal, "temporal-link"], ["trace", links.trace, "trace-link"],
    ["pull request", links.pull_request, "pr-link"]];
  $("#run-links").replaceChildren(...items.filter(([, href]) => href).flatMap(([label, href, id]) => {
    const a = el("a", label, { href, id, target: "_blank", rel: "noopener" });
    return [a, document.createTextNode(" ")];
  }));
}

function appendOutput(lines) {
  const pre = $("#output");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.append(document.createTextNode(lines.map((l) => l.text).join("\n") + "\n"));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

async function openRun(runId) {
  show("run");
  $("#output").textContent = "";
  $("#steps").replaceChildren();
  $("#iterations tbody").replaceChildren();
  $("#control-result").textContent = "";
  const detail = await api(`/api/runs/${encodeURIComponent(runId)}`);
  renderRun(detail);
  renderLinks(detail.links);
  renderIterations(detail.iteration_summaries || []);
  loadAttempts(detail).catch((error) => { $("#attempts-note").textContent = error.message; });
  $("#steps").replaceChildren(...detail.steps.map((s) => el("li", `${when(s.occurred_at)} — ${s.summary}`)));
  let cursor = 0;
  let ended = false;
  keepFollowing(() => `/api/runs/${encodeURIComponent(runId)}/output/stream?after=${cursor}`, (name, data) => {
    if (name === "output") { appendOutput(data); cursor = data[data.length - 1].id; }
    if (name === "run" || name === "end") renderRun(data);
    if (name === "end") ended = true;
    if (name === "end") api(`/api/runs/${encodeURIComponent(runId)}`).then((d) => {
      renderLinks(d.links);
      renderIterations(d.iteration_summaries || []);
      $("#steps").replaceChildren(...d.steps.map((s) => el("li", `${when(s.occurred_at)} — ${s.summary}`)));
    }).catch(() => {});
  }, (state) => { $("#tail-state").textContent = state; }, { reconnect: () => !ended });
}

async function control(action, body) {
  if (!currentRun) return;
  $("#control-result").textContent = `${action}…`;
  try {
    const result = await api(`/api/runs/${encodeURIComponent(currentRun.run_id)}/${action}`,
      { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
    $("#control-result").textContent = result.detail;
  } catch (error) {
    $("#control-result").textContent = error.message;
  }
}

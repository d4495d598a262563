// Prompt evolution in the dashboard: versions with their lineage, diffs and where each is active, and
// experiments with their arms, always-valid intervals and p-values. Everything comes from evolution's API
// through the gateway (/api/evolution/...), under the caller's role: viewers read, operators approve,
// reject and roll back. Uses api, el, $, when and show from dashboard.js.
"use strict";

const EVOLUTION = "/api/evolution";
let currentExperiment = null;

function enc(value) { return encodeURIComponent(value); }
function number(value, digits = 3) { return value == null ? "" : Number(value).toFixed(digits); }

async function openPrompts() {
  show("prompts");
  $("#prompts-error").textContent = "";
  $("#prompt-diff").textContent = "";
  $("#diff-title").textContent = "Diff to the parent";
  $("#diff-hint").hidden = false;
  let active;
  try {
    active = await api(`${EVOLUTION}/prompts`);
  } catch (error) {
    $("#prompts-error").textContent = error.message;
    return;
  }
  $("#active-prompts tbody").replaceChildren(...active.map((a) => {
    const row = el("tr");
    row.append(el("td", a.category), el("td", a.project === "*" ? "every project (default)" : a.project),
      el("td", a.version_id), el("td", when(a.since)));
    return row;
  }));
  const categories = [...new Set(active.map((a) => a.category))].sort();
  const sections = await Promise.all(categories.map(async (category) => {
    const versions = await api(`${EVOLUTION}/prompts/${enc(category)}/versions`);
    return versionsTable(category, versions, active);
  }));
  $("#prompt-categories").replaceChildren(...sections.flat());
}

function versionsTable(category, versions, active) {
  const heading = el("h2", `${category} versions`, { id: `versions-${category}` });
  const table = el("table", null, { class: "versions", "aria-labelledby": heading.id });
  const head = el("tr");
  for (const name of ["version", "parent", "status", "active in", "reason", "created"]) head.append(el("th", name));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const version of versions) {
    const where = active.filter((a) => a.version_id === version.id).map((a) => (a.project === "*" ? "default" : a.project));
    const row = el("tr", null, { "data-version-id": version.id });
    const cell = el("td");
    const button = el("button", version.id, { type: "button", class: "link" });
    button.disabled = !version.parent_id;
    button.title = version.parent_id ? `diff to ${version.parent_id}` : "the first version: no parent";
    button.addEventListener("click", () => showDiff(version.id));
    cell.append(button);
    row.append(cell, el("td", version.parent_id || ""), el("td", version.status), el("td", where.join(", ")),
      el("td", version.reason), el("td", when(version.created_at)));
    table.tBodies[0].append(row);
  }
  return [heading, table];
}

async function showDiff(versionId) {
  try {
    const diff = await api(`${EVOLUTION}/versions/${enc(versionId)}/diff`);
    $("#diff-title").textContent = `Diff of ${diff.to} to its parent ${diff.from}`;
    $("#prompt-diff").textContent = diff.diff || "(no change)";
    $("#diff-hint").hidden = true;
  } catch (error) {
    $("#prompts-error").textContent = error.message;
  }
}

async function openExperiments(experimentId) {
  show("experiments");
  $("#experiments-error").textContent = "";
  try {
    const list = await api(`${EVOLUTION}/experiments`);
    $("#experiment-list tbody").replaceChildren(...list.map((x) => {
      const row = el("tr", null, { "data-experiment-id": x.id });
      const cell = el("td");
      cell.append(el("a", x.id, { href: `#/experiments/${enc(x.id)}` }));
      row.append(cell, el("td", x.category), el("td", x.project), el("td", x.control_version),
        el("td", x.status, { class: `status status-${x.status}` }), el("td", winnerText(x)), el("td", when(x.started_at)));
      return row;
    }));
    $("#no-experiments").hidden = list.length > 0;
    $("#experiment").hidden = !experimentId;
    if (experimentId) renderExperiment(await api(`${EVOLUTION}/experiments/${enc(experimentId)}`));
  } catch (error) {
    $("#experiments-error").textContent = error.message;
  }
}

// An agent or model arm shares its prompt version with the control: name the arm, its agent and model.
function winnerText(x) {
  if (!x.winner_version || !x.winner_arm) return x.winner_version || "";
  const parts = [x.winner_agent && `agent ${x.winner_agent}`, x.winner_model && `model ${x.winner_model}`];
  return `${x.winner_arm}: ${[...parts.filter(Boolean), `version ${x.winner_version}`].join(", ")}`;
}

function renderExperiment(x) {
  currentExperiment = x;
  $("#experiment-title").textContent = `${x.category} experiment ${x.id} on ${x.project}`;
  $("#experiment-status").textContent = x.status;
  $("#experiment-decision").textContent = [x.decision, x.winner_version && `winner ${winnerText(x)}`].filter(Boolean).join(", ");
  $("#arms tbody").replaceChildren(...x.arms.map((arm) => {
    const row = el("tr", null, { "data-arm": arm.arm });
    const interval = arm.interval ? `[${number(arm.interval[0])}, ${number(arm.interval[1])}]` : "";
    row.append(el("td", arm.arm), el("td", arm.version_id), el("td", number(arm.weight, 2)), el("td", arm.samples),
      el("td", number(arm.mean_score)), el("td", number(arm.difference)), el("td", interval), el("td", number(arm.p_value, 4)),
      el("td", arm.stopped ? arm.stop_reason || "yes" : ""));
    return row;
  }));
  const awaiting = x.status === "awaiting_approval";
  $("#approve").disabled = !awaiting;
  $("#reject").disabled = !awaiting;
  loadAudit(x.id);
}

async function loadAudit(target) {
  $("#audit-note").textContent = "";
  try {
    const records = await api(`${EVOLUTION}/audit?target=${enc(target)}`);
    $("#audit tbody").replaceChildren(...records.map((r) => {
      const row = el("tr", null, { "data-action": r.action });
      row.append(el("td", when(r.occurred_at)), el("td", `${r.actor} (${r.role})`), el("td", r.action),
        el("td", `${r.status} ${r.detail}`));
      return row;
    }));
    if (!records.length) $("#audit-note").textContent = "No one has approved, rejected or rolled back anything here yet.";
  } catch (error) {
    $("#audit tbody").replaceChildren();
    $("#audit-note").textContent = `Audit records: ${error.message}`;
  }
}

async function answerExperiment(approved) {
  const x = currentExperiment;
  if (!x) return;
  $("#experiment-result").textContent = "sending…";
  try {
    const answer = await api(`${EVOLUTION}/experiments/${enc(x.id)}/approval`,
      { method: "POST", body: JSON.stringify({ approved }) });
    $("#experiment-result").textContent = `${answer.answer}`;
    await openExperiments(x.id);
  } catch (error) {
    $("#experiment-result").textContent = error.message;
  }
}

async function rollbackExperimentPrompt() {
  const x = currentExperiment;
  if (!x) return;
  try {
    const result = await api(`${EVOLUTION}/prompts/${enc(x.category)}/projects/${x.project.split("/").map(enc).join("/")}/rollback`,
      { method: "POST" });
    $("#experiment-result").textContent = `rolled back from ${result.from} to ${result.to}`;
  } catch (error) {
    $("#experiment-result").textContent = error.message;
  }
}

function installEvolutionControls() {
  $("#approve").addEventListener("click", () => answerExperiment(true));
  $("#reject").addEventListener("click", () => answerExperiment(false));
  $("#rollback").addEventListener("click", rollbackExperimentPrompt);
}

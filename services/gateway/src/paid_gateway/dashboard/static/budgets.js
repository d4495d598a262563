// The budgets page: each project's spend today and this month against its caps (GET /api/budgets).
// Caps a project has not set are the defaults every project has, and the page says which.
// Uses api, el, $, money and show from dashboard.js.
"use strict";

function tokens(value) { return value == null ? "no cap" : Number(value).toLocaleString("en"); }

function usedCell(line) {
  const cell = el("td");
  if (line.used == null) { cell.textContent = "no cap"; return cell; }
  const percent = Math.round(line.used * 100);
  const meter = el("meter", null, { min: "0", max: "1", low: "0.75", high: "0.9", optimum: "0",
    value: String(Math.min(line.used, 1)), "aria-label": `${line.period} budget used` });
  cell.append(meter, document.createTextNode(` ${percent}%`));
  if (line.used >= 1) cell.classList.add("over");
  return cell;
}

async function openBudgets() {
  show("budgets");
  $("#budgets-error").textContent = "";
  let budgets;
  try {
    budgets = await api("/api/budgets");
  } catch (error) {
    $("#budgets-error").textContent = error.message;
    return;
  }
  $("#budget-list tbody").replaceChildren(...budgets.projects.flatMap((p) => p.lines.map((line) => {
    const row = el("tr", null, { "data-project": p.project, "data-period": line.period });
    row.append(el("td", p.project), el("td", `${line.period} from ${line.starts}`), el("td", line.runs),
      el("td", money(line.spent_usd)), el("td", line.cap_usd == null ? "no cap" : money(line.cap_usd)),
      el("td", tokens(line.spent_tokens)), el("td", tokens(line.cap_tokens)), usedCell(line),
      el("td", line.cap_source === "project" ? `the project's own (${p.time_zone})` : "default"));
    return row;
  })));
  $("#no-budgets").hidden = budgets.projects.length > 0;
  $("#budgets-note").textContent = budgets.note;
  await showCapsForm(budgets.projects);
}

// A project's own caps (admins only: GET/PUT/DELETE /api/budgets/{owner}/{name}). Each field is sent as
// typed, a number when it reads as one, so that the gateway's refusal names the field that is wrong.
const NUMBER = /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/;

function capsPath() { return `/api/budgets/${$("#caps-project").value}`; }

async function loadCaps() {
  $("#caps-result").textContent = "";
  const project = $("#caps-project").value;
  delete $("#caps-form").dataset.loadedFor;
  if (!project) return;
  try {
    const answer = await api(capsPath());
    if ($("#caps-project").value !== project) return;  // another project was chosen meanwhile
    for (const input of document.querySelectorAll("#caps-form input[data-field]")) {
      const own = answer.caps[input.dataset.field];
      input.value = own == null ? "" : String(own);
      const fallback = answer.defaults[input.dataset.field];
      input.placeholder = fallback == null ? "no cap" : `default: ${fallback}`;
    }
    $("#caps-form").dataset.loadedFor = project;
  } catch (error) {
    $("#caps-result").textContent = error.message;
  }
}

function capsBody() {
  const body = {};
  for (const input of document.querySelectorAll("#caps-form input[data-field]")) {
    const text = input.value.trim();
    if (text === "") continue;
    body[input.dataset.field] = input.dataset.field === "time_zone" || !NUMBER.test(text) ? text : Number(text);
  }
  return body;
}

async function saveCaps(method) {
  $("#caps-result").textContent = "";
  try {
    const options = method === "PUT" ? { method, body: JSON.stringify(capsBody()) } : { method };
    await api(capsPath(), options);
  } catch (error) {
    $("#caps-result").textContent = error.message;
    return;
  }
  const project = $("#caps-project").value;
  await openBudgets();
  $("#caps-project").value = project;
  await loadCaps();
  $("#caps-result").textContent = method === "PUT" ? `caps of ${project} saved` : `${project} uses the defaults`;
}

async function showCapsForm(projects) {
  const form = $("#caps-form");
  let me;
  try { me = await api("/api/me"); } catch { form.hidden = true; return; }
  form.hidden = me.role !== "admin" || projects.length === 0;
  if (form.hidden) return;
  const chosen = $("#caps-project").value;
  $("#caps-project").replaceChildren(...projects.map((p) => el("option", p.project, { value: p.project })));
  if (projects.some((p) => p.project === chosen)) $("#caps-project").value = chosen;
  await loadCaps();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#caps-project").addEventListener("change", loadCaps);
  $("#caps-form").addEventListener("submit", (event) => { event.preventDefault(); saveCaps("PUT"); });
  $("#caps-reset").addEventListener("click", () => saveCaps("DELETE"));
});

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
      el("td", line.cap_source === "project" ? "the project's own" : "default"));
    return row;
  })));
  $("#no-budgets").hidden = budgets.projects.length > 0;
  $("#budgets-note").textContent = budgets.note;
}

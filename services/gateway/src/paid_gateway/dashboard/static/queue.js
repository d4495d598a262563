// The queue page: runs requested and not yet started (GET /api/queue): queued ones (held by a limit or a
// budget) in the order they will start, then those waiting for a worker.
// Uses api, el, $, when and show from dashboard.js.
"use strict";

async function openQueue() {
  show("queue");
  $("#queue-error").textContent = "";
  let queued;
  try {
    queued = await api("/api/queue");
  } catch (error) {
    $("#queue-error").textContent = error.message;
    return;
  }
  $("#queue-list tbody").replaceChildren(...queued.runs.map((run) => {
    const row = el("tr", null, { "data-workflow-id": run.workflow_id });
    row.append(el("td", run.position), el("td", `${run.repo} #${run.issue_number}`), el("td", `attempt ${run.attempt}`),
      el("td", run.status), el("td", run.reason || ""), el("td", when(run.requested_at)), el("td", run.workflow_id));
    return row;
  }));
  $("#no-queue").hidden = queued.runs.length > 0;
  $("#queue-note").textContent = queued.note;
}

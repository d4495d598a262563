// A project's agent and model (admins only: PATCH /api/projects/{owner}/{name}). An empty choice sends
// null, so the executor's own setting applies; the gateway's refusal names the field that is wrong.
"use strict";

const PROJECT_AGENTS = ["demo", "claude", "aider", "opencode", "codex", "gemini"];
let agentProjects = [];

function chosenAgentProject() { return agentProjects.find((p) => p.repository === $("#agent-project").value); }

function loadAgentChoice() {
  const project = chosenAgentProject();
  $("#agent-choice").value = project?.agent || "";
  $("#agent-model").value = project?.agent_model || "";
  $("#agent-result").textContent = "";
}

async function saveAgentChoice() {
  $("#agent-result").textContent = "";
  const repository = $("#agent-project").value;
  const body = { agent: $("#agent-choice").value || null, agent_model: $("#agent-model").value.trim() || null };
  try {
    const saved = await api(`/api/projects/${repository}`, { method: "PATCH", body: JSON.stringify(body) });
    agentProjects = agentProjects.map((p) => (p.repository === repository ? saved : p));
    $("#agent-result").textContent = `${repository}: ${saved.agent || "the executor's agent"}` +
      (saved.agent_model ? ` with ${saved.agent_model}` : "") + " saved";
  } catch (error) {
    $("#agent-result").textContent = error.message;
  }
}

// Called with the registry's projects (only admins can read it): the form is shown to them only.
function showAgentForm(projects) {
  agentProjects = projects;
  $("#agent-form").hidden = projects.length === 0;
  if (!projects.length) return;
  const chosen = $("#agent-project").value;
  $("#agent-project").replaceChildren(...projects.map((p) => el("option", p.repository, { value: p.repository })));
  if (projects.some((p) => p.repository === chosen)) $("#agent-project").value = chosen;
  loadAgentChoice();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#agent-choice").replaceChildren(el("option", "the executor's setting", { value: "" }),
    ...PROJECT_AGENTS.map((agent) => el("option", agent, { value: agent })));
  $("#agent-project").addEventListener("change", loadAgentChoice);
  $("#agent-form").addEventListener("submit", (event) => { event.preventDefault(); saveAgentChoice(); });
});

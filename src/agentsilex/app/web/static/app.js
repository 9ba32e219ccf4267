// The web chat: one client of the JSON API (see /docs). No framework, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { session: null, busy: false, token: null, info: { agent: "agentsilex", description: "", examples: [] } };

// -- the API -------------------------------------------------------------------------------------------------
function headers(extra) {
  const out = Object.assign({ "Content-Type": "application/json" }, extra || {});
  if (state.token) out.Authorization = "Bearer " + state.token;
  return out;
}

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: headers(), body: body && JSON.stringify(body) });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ message: response.statusText }));
  if (!response.ok) throw new Error(data.message || response.statusText);
  return data;
}

// POST, then read the Server-Sent Events of the run as they come.
async function stream(path, body, onEvent) {
  const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (!response.ok) {
    const data = await response.json().catch(() => ({ message: response.statusText }));
    throw new Error(data.message || response.statusText);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

// -- drawing -------------------------------------------------------------------------------------------------
function node(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

function scrollDown() {
  const box = $("#messages");
  box.scrollTop = box.scrollHeight;
}

// A message's content: a string, or OpenAI content parts (text, images, audio, files) from a prompt or a tool.
function textOf(content) {
  if (!Array.isArray(content)) return String(content ?? "");
  return content.map((part) => (part && part.type === "text" ? part.text : "[" + partLabel(part) + "]")).join(" ");
}

function partLabel(part) {
  if (!part || typeof part !== "object") return "part";
  if (part.type === "image_url") return "image";
  if (part.type === "input_audio") return "audio " + ((part.input_audio || {}).format || "");
  if (part.type === "file") return "file " + ((part.file || {}).filename || (part.file || {}).file_id || "");
  return part.type || "part";
}

function contentNodes(content) {
  if (!Array.isArray(content)) return [document.createTextNode(String(content ?? ""))];
  return content.map((part) => {
    if (part && part.type === "text") return node("div", "part-text", part.text);
    const url = part && part.type === "image_url" && part.image_url && part.image_url.url;
    if (typeof url === "string" && url.startsWith("data:image/")) {  // inline only: the page fetches nothing
      const img = node("img", "part-image");
      img.src = url;
      img.alt = "image";
      return img;
    }
    return node("span", "part-label", partLabel(part));
  });
}

function userBubble(content) {
  const bubble = node("div", "msg user");
  const inner = node("div", "bubble");
  inner.append(...contentNodes(content));
  bubble.append(inner);
  $("#messages").append(bubble);
  return bubble;
}

// An empty chat: who the agent is, what it does, and a few prompts to try (agentsilex serve --example ...).
function emptyState() {
  const box = node("div", "empty");
  box.append(node("h2", "", state.info.agent));
  if (state.info.description) box.append(node("p", "description", state.info.description));
  if (state.info.examples.length) {
    const list = node("div", "examples");
    for (const text of state.info.examples) {
      const button = node("button", "example", text);
      button.type = "button";
      button.onclick = () => { if (!state.busy) send(text); };
      list.append(button);
    }
    box.append(node("div", "label", "Try"), list);
  }
  $("#messages").append(box);
}

function usageText(usage) {
  const cost = usage.cost_usd === null ? "cost n/a" : "$" + usage.cost_usd.toFixed(6);
  const requests = usage.requests + (usage.requests === 1 ? " request" : " requests");
  const input = [usage.cached_input_tokens ? usage.cached_input_tokens + " cached" : "",
                 usage.cache_write_tokens ? usage.cache_write_tokens + " cache writes" : ""].filter(Boolean);
  const tokens = `${usage.input_tokens} in` + (input.length ? ` (${input.join(", ")})` : "") +
    ` / ${usage.output_tokens} out` + (usage.reasoning_tokens ? ` (${usage.reasoning_tokens} reasoning)` : "") +
    " tokens" + (usage.estimated ? " (estimated)" : "");
  return `${requests} · ${tokens} · ${cost}`;
}

// What the session recorded (every run on it, across approvals), from the same call that loads its history.
async function refreshUsage(id) {
  const data = await api("GET", `api/sessions/${encodeURIComponent(id)}/messages`);
  if (id === state.session) showRecorded(data.usage);
}

function showRecorded(usage) {
  $("#usage").textContent = usage && usage.requests ? "this chat: " + usageText(usage) : "";
}

// An assistant answer: text parts, tool cards, handoff marks, approvals and usage, in the order they happen.
class Answer {
  constructor() {
    this.el = node("div", "msg assistant");
    this.cards = {};
    this.text = null;
    $("#messages").append(this.el);
  }

  addText(piece) {
    if (!this.text) {
      this.text = { raw: "", el: node("div", "text") };
      this.el.append(this.text.el);
    }
    this.text.raw += piece;
    this.text.el.replaceChildren(Markdown.render(this.text.raw));
  }

  toolCall(callId, name, args, agent) {
    this.text = null;
    if (name.startsWith("transfer_to_")) return;
    const card = node("details", "tool-card");
    const summary = node("summary");
    summary.append(node("span", "tool-name", name), node("span", "tool-args", "(" + args + ")"));
    const body = node("div", "tool-body");
    body.append(node("div", "label", "arguments"), node("pre", "args", args),
                node("div", "label", "result"), node("pre", "result", "running…"));
    card.append(summary, body);
    card.dataset.callId = callId;
    this.cards[callId] = card;
    this.el.append(card);
  }

  toolResult(callId, content, error) {
    // A resumed run answers a call announced before the pause, whose card is in an earlier answer.
    const card = this.cards[callId] || document.querySelector(`.tool-card[data-call-id="${CSS.escape(callId)}"]`);
    if (!card) return;
    card.querySelector(".result").textContent = content;
    card.classList.add(error ? "failed" : "done");
  }

  handoff(agent) {
    this.text = null;
    this.el.append(node("div", "handoff", "⇢ handed off to " + agent));
  }

  usage(usage) {
    this.el.append(node("div", "usage", usageText(usage)));  // the whole run, the part before a pause too
  }

  approvals(pending) {
    const box = node("div", "approval");
    box.append(node("div", "label", "Waiting for your approval"));
    const decisions = {};
    for (const item of pending) {
      if (!this.cards[item.call_id]) this.toolCall(item.call_id, item.tool_name, item.arguments, item.agent);
      const row = node("div", "approval-row");
      row.dataset.callId = item.call_id;
      const approve = node("button", "approve", "Approve");
      const reject = node("button", "reject", "Reject");
      const choose = (approved) => {
        decisions[item.call_id] = { approved, reason: approved ? "" : "rejected in the web chat" };
        row.replaceChildren(node("span", approved ? "decided approved" : "decided rejected",
                                 (approved ? "✓ approved " : "✗ rejected ") + item.tool_name));
        if (Object.keys(decisions).length === pending.length) {
          box.querySelector(".label").textContent = "Decided";
          resume(decisions, this);
        }
      };
      approve.onclick = () => choose(true);
      reject.onclick = () => choose(false);
      row.append(node("span", "approval-call", `${item.tool_name}(${item.arguments})`), approve, reject);
      box.append(row);
    }
    this.el.append(box);
  }

  // A tool's server asks the person something (MCP elicitation); the tool call waits for the answer.
  question(event) {
    const box = node("div", "approval question");
    box.append(node("div", "label", `${event.server} asks`), node("div", "question-text", event.message));
    const form = node("form", "question-form");
    const fields = {};
    for (const [name, spec] of Object.entries((event.schema && event.schema.properties) || {})) {
      const label = node("label", null, (spec.description || spec.title || name) + " ");
      let input;
      if (Array.isArray(spec.enum)) {
        input = node("select");
        for (const value of spec.enum) input.append(Object.assign(node("option", null, String(value)), { value }));
      } else {
        input = node("input");
        const numeric = ["integer", "number"].includes(spec.type);
        input.type = spec.type === "boolean" ? "checkbox" : numeric ? "number" : "text";
        if (spec.type === "boolean") input.checked = spec.default === true;
        else if (spec.default !== undefined) input.value = spec.default;
      }
      input.name = name;
      fields[name] = input;
      label.append(input);
      form.append(label);
    }
    if (event.url && /^https?:\/\//.test(event.url)) {  // never a javascript: link
      form.append(Object.assign(node("a", null, event.url), { href: event.url, target: "_blank", rel: "noopener" }));
    }
    const send = Object.assign(node("button", "approve", event.url ? "Done" : "Send"), { type: "submit" });
    const decline = Object.assign(node("button", "reject", "Decline"), { type: "button" });
    const reply = async (action) => {
      const content = {};
      for (const [name, input] of Object.entries(fields)) {
        content[name] = input.type === "checkbox" ? input.checked : input.value;
      }
      form.querySelectorAll("button, input, select").forEach((b) => { b.disabled = true; });
      box.querySelector(".label").textContent = action === "accept" ? "Answered" : "Declined";
      try {
        await api("POST", `api/sessions/${encodeURIComponent(state.session)}/answers/${encodeURIComponent(event.id)}`,
                  { action, content: action === "accept" ? content : null });
      } catch (error) {
        showError(error.message);
      }
    };
    form.onsubmit = (e) => { e.preventDefault(); reply("accept"); };
    decline.onclick = () => reply("decline");
    form.append(send, decline);
    box.append(form);
    this.el.append(box);
  }

  event(event) {
    if (event.type === "partial_output") this.addText(event.content);
    else if (event.type === "tool_call") this.toolCall(event.call_id, event.name, event.arguments, event.agent);
    else if (event.type === "tool_response") this.toolResult(event.call_id, event.content, event.error);
    else if (event.type === "agent_handoff") this.handoff(event.agent_name);
    else if (event.type === "final_result") this.usage(event.usage);
    else if (event.type === "approval_required") this.approvals(event.pending_approvals);
    else if (event.type === "input_required") this.question(event);
    else if (event.type === "error") this.el.append(node("div", "run-error", event.message));
    scrollDown();
  }
}

// History comes as OpenAI-format messages: replay them through the same Answer drawing.
function drawHistory(messages, pending) {
  $("#messages").replaceChildren();
  let answer = null;
  for (const message of messages) {
    if (message.role === "user") {
      userBubble(message.content);
      answer = null;
      continue;
    }
    answer = answer || new Answer();
    if (message.role === "assistant") {
      for (const call of message.tool_calls || []) {
        answer.toolCall(call.id, call.function.name, call.function.arguments);
        if (call.function.name.startsWith("transfer_to_")) answer.handoff(call.function.name.slice(12));
      }
      if (message.content) answer.addText(message.content);
    } else if (message.role === "tool") {
      const text = textOf(message.content);
      answer.toolResult(message.tool_call_id, text, text.startsWith("Error"));
    }
  }
  if (pending.length) (answer || new Answer()).approvals(pending);
  if (!messages.length && !pending.length) emptyState();
  scrollDown();
}

async function drawSessions() {
  const { sessions } = await api("GET", "api/sessions");
  const list = $("#sessions");
  list.replaceChildren();
  for (const row of sessions) {
    const item = node("li", row.id === state.session ? "active" : "");
    item.dataset.id = row.id;
    const open = node("button", "open", row.title);
    open.title = row.id;
    open.onclick = () => openSession(row.id);
    const remove = node("button", "delete", "×");
    remove.title = "Delete this chat";
    remove.onclick = () => deleteSession(row.id);
    item.append(open, remove);
    list.append(item);
  }
  return sessions;
}

// -- actions -------------------------------------------------------------------------------------------------
async function openSession(id) {
  state.session = id;
  location.hash = "s=" + encodeURIComponent(id);
  showError("");
  const data = await api("GET", `api/sessions/${encodeURIComponent(id)}/messages`);
  const first = data.messages.find((m) => m.role === "user");
  $("#title").textContent = first ? textOf(first.content).slice(0, 80) : state.info.agent;
  $("#session-id").textContent = id;
  drawHistory(data.messages, data.pending_approvals);
  showRecorded(data.usage);
  await drawSessions();
  $("#input").focus();
}

async function newSession() {
  const { id } = await api("POST", "api/sessions", {});
  await openSession(id);
}

async function deleteSession(id) {
  await api("DELETE", `api/sessions/${encodeURIComponent(id)}`);
  if (id === state.session) {
    const sessions = await drawSessions();
    if (sessions.length) await openSession(sessions[0].id);
    else await newSession();
  } else {
    await drawSessions();
  }
}

async function run(path, body, answer, onFail) {
  state.busy = true;
  $("#send").disabled = true;
  showError("");
  try {
    await stream(path, body, (event) => answer.event(event));
  } catch (error) {
    answer.el.remove();
    if (onFail) onFail();
    showError(error.message);
  } finally {
    state.busy = false;
    $("#send").disabled = false;
    drawSessions().catch(() => {});
    refreshUsage(state.session).catch(() => {});
  }
}

async function send(text) {
  const id = state.session;
  const bubble = userBubble(text);
  const title = $("#title").textContent;
  const empty = document.querySelector("#messages .empty");
  if (empty) {  // the first question of this chat names it
    empty.remove();
    $("#title").textContent = text.slice(0, 80);
  }
  const answer = new Answer();
  scrollDown();
  await run(`api/sessions/${encodeURIComponent(id)}/messages`, { content: text }, answer, () => {
    bubble.remove();
    if (empty) $("#messages").prepend(empty);
    $("#title").textContent = title;
    $("#input").value = text;  // nothing was sent: give the text back
  });
}

function resume(decisions, previous) {
  previous.el.querySelectorAll(".approval button").forEach((b) => { b.disabled = true; });
  run(`api/sessions/${encodeURIComponent(state.session)}/approvals`, { decisions }, new Answer());
}

// -- start ---------------------------------------------------------------------------------------------------
async function start() {
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    sessionStorage.setItem("agentsilex-token", params.get("token"));
    history.replaceState(null, "", location.pathname + location.hash);
  }
  state.token = sessionStorage.getItem("agentsilex-token");
  $("#composer").onsubmit = (event) => {
    event.preventDefault();
    const text = $("#input").value.trim();
    if (!text || state.busy) return;
    $("#input").value = "";
    send(text);
  };
  $("#input").onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#composer").requestSubmit();
    }
  };
  $("#new-session").onclick = () => newSession().catch((e) => showError(e.message));
  try {
    const info = await api("GET", "api/info");
    state.info = Object.assign(state.info, info, { examples: info.examples || [] });
    $("#agent").textContent = `${info.agent} · ${info.model}`;
    document.title = `${info.agent} · agentsilex`;
    const sessions = await drawSessions();
    const wanted = decodeURIComponent((location.hash.match(/s=([^&]+)/) || [])[1] || "");
    if (sessions.some((s) => s.id === wanted)) await openSession(wanted);
    else if (sessions.length) await openSession(sessions[0].id);
    else await newSession();
  } catch (error) {
    showError(error.message);
  }
}

start();

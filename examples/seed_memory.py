# The seed's multi-turn conversation example (section 4.5), unchanged. Needs a model (see seed_calculator.py).
from agentsilex import Agent, Runner, Session, tool

@tool
def remember(key: str, value: str) -> str:
    """Remember something."""
    return f"I'll remember that {key} is {value}"

agent = Agent(
    name="memory_bot",
    model="gpt-4o",
    instructions="You are helpful. Remember things when asked.",
    tools=[remember],
)

# Same session across turns
session = Session()
runner = Runner(session)

# Turn 1
runner.run(agent, "My favorite color is blue")

# Turn 2 - agent sees previous history
runner.run(agent, "What's my favorite color?")
# → "Your favorite color is blue!"

# Check what's in the session
print(len(session.dialogs)) # Multiple messages

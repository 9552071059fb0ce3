"""Drives `phigate serve` with the official Anthropic Python SDK.

Run by crates/phigate/tests/sdk.rs, one phase per invocation (the Rust side scripts the mock
upstream between phases). Prints only the names of the checks, never a value it sent.
"""

import json
import os
import sys
import time

import anthropic

BASE = os.environ["PHIGATE_URL"]
TOKEN = os.environ["PHIGATE_TOKEN"]
PHI = json.loads(os.environ["PHIGATE_TEST_PHI"])
NAME, PHONE, SSN = PHI["NAME"], PHI["PHONE"], PHI["SSN"]
TEXT = f"Patient {NAME} (SSN {SSN}) called from {PHONE} about her blood pressure."
MODEL = "claude-sonnet-4-5"


def client(retries=0):
    return anthropic.Anthropic(base_url=BASE, api_key=TOKEN, max_retries=retries)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def restored(text):
    return all(value in text for value in (NAME, PHONE, SSN))


def basic():
    c = client()
    user = [{"role": "user", "content": TEXT}]
    m = c.messages.create(model=MODEL, max_tokens=200, messages=user)
    check(m.type == "message" and restored(m.content[0].text), "plain message restored")

    with c.messages.stream(model=MODEL, max_tokens=200, messages=user) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(restored(text), "stream text restored")
    check(final.stop_reason == "end_turn", "stream final message complete")

    counted = c.messages.count_tokens(model=MODEL, messages=user)
    check(counted.input_tokens > 0, "count_tokens")

    ids = [model.id for model in c.models.list()]
    check("claude-mock-1" in ids, "models.list")

    history = []
    for turn in range(1, 6):
        ask = TEXT if turn == 1 else f"Turn {turn}: how is {NAME} doing?"
        history.append({"role": "user", "content": ask})
        m = c.messages.create(model=MODEL, max_tokens=200, messages=history)
        reply = m.content[0].text
        check(NAME in reply, f"turn {turn} of 5 restored")
        history.append({"role": "assistant", "content": reply})

    bad = anthropic.Anthropic(base_url=BASE, api_key="sk-ant-not-a-phigate-token", max_retries=0)
    try:
        bad.messages.create(model=MODEL, max_tokens=10, messages=user)
        check(False, "a bad credential is refused")
    except anthropic.AuthenticationError as err:
        check(err.status_code == 401, "a bad credential is refused with 401")


def tool():
    c = client()
    tools = [{
        "name": "lookup_chart",
        "description": "Reads the chart of the patient being discussed.",
        "input_schema": {
            "type": "object",
            "properties": {"patient": {"type": "string"}, "phone": {"type": "string"}},
            "required": ["patient"],
        },
    }]
    messages = [{"role": "user", "content": TEXT}]
    m = c.messages.create(model=MODEL, max_tokens=200, tools=tools, messages=messages)
    check(m.stop_reason == "tool_use", "the model asks for a tool")
    call = next(block for block in m.content if block.type == "tool_use")
    check(call.input == {"patient": NAME, "phone": PHONE}, "tool_use input restored")
    messages.append({"role": "assistant", "content": m.content})
    result = f"{NAME}: BP 150/95, SSN {SSN} on file"
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id, "content": result}]})
    m = c.messages.create(model=MODEL, max_tokens=200, tools=tools, messages=messages)
    check(m.content[0].type == "text", "the tool round trip completes")


def ratelimit():
    c = client(retries=2)
    started = time.monotonic()
    m = c.messages.create(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": TEXT}])
    waited = time.monotonic() - started
    check(waited >= 0.9, "the SDK waited for retry-after before retrying")
    check(restored(m.content[0].text), "the retried message is restored")


if __name__ == "__main__":
    {"basic": basic, "tool": tool, "ratelimit": ratelimit}[sys.argv[1]]()

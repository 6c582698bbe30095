"""What the e2e emulator's contract checks (tests/e2e/emulator/contract.py) cost per request.

    .venv/bin/python -m bench.contract_checks              # 200 repeats
    .venv/bin/python -m bench.contract_checks --repeats 1000

Times loading Discord's OpenAPI document, then for a few typical exchanges the first check (which compiles
the schemas it needs), the median for the same value again (remembered) and for a new value each time (the
message's content or the users' names change, so only unchanged parts are remembered): a message with an
embed sent by the bot, the emulator's answer to it, and a page of 100 users who reacted. Prints milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.emulator import contract, payloads
from tests.e2e.emulator.state import Message, User, World


def timed(check: Callable[[Any], object], value: Any) -> float:
    started = time.perf_counter()
    check(value)
    return (time.perf_counter() - started) * 1000


Exchange = tuple[Callable[[int], Any], Callable[[Any], object]]  # (value number n, check of a value)


def exchanges() -> dict[str, Exchange]:
    """Each exchange's values (n = 0 always gives the same one) and its check."""
    spec = contract.spec()
    world = World()
    users = [User(world.new_id(), f"reader{i}", global_name=f"Reader {i}") for i in range(100)]
    world.users.update({u.id: u for u in users})
    embed = {"title": "Headline", "description": "Body " * 200, "url": "https://example.org/a", "color": 0x2B6CB0}
    embed["fields"] = [{"name": f"Option {i}", "value": "▰" * 20, "inline": False} for i in range(10)]
    message = Message(world.new_id(), world.new_id(), world.new_id(), users[0].id, "", embeds=[embed])
    post = spec.match("POST", ("channels", "1", "messages"))
    reactions = spec.match("GET", ("channels", "1", "messages", "2", "reactions", "x"))
    assert post is not None and reactions is not None

    def answer(n: int) -> bytes:
        message.content = f"New article {n}"
        return json.dumps(payloads.message(message, world, me_id=users[0].id)).encode()

    def page(n: int) -> bytes:
        return json.dumps(
            [{**payloads.user(u), "global_name": f"Reader {i} {n}"} for i, u in enumerate(users)]
        ).encode()

    return {
        "request: message with embed": (
            lambda n: {"content": f"New article {n}", "embeds": [embed]},
            lambda body: contract.check_request_body(post, body),
        ),
        "answer: the message": (answer, lambda body: contract.check_response(post, 200, body)),
        "answer: 100 users who reacted": (page, lambda body: contract.check_response(reactions, 200, body)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    contract.spec()
    print(f"load the document: {(time.perf_counter() - started) * 1000:.1f} ms")
    for name, (value, check) in exchanges().items():
        first = timed(check, value(0))
        same = statistics.median(timed(check, value(0)) for _ in range(args.repeats))
        new = statistics.median(timed(check, value(n)) for n in range(1, args.repeats + 1))
        print(f"{name}: first {first:.2f} ms, same value {same:.3f} ms, new value {new:.3f} ms (medians)")


if __name__ == "__main__":
    main()

"""Command topics (recipe change, reload, feedback/refit) are off unless enabled, and only act on known
sources and products. (tests/test_mqtt_commands.py covers a recipe change to a known product, an
unknown product in product/set and reload/set, and product/set ignored with commands off.) A topic with
extra levels (``inspectd/a/b/product/set``) is outside the ``<prefix>/+/product/set`` subscription and
never reaches inspectd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.images import encode, json_part
from support.line import IMAGE_TOPIC, INPUT, PREFIX, PRODUCT, line_config

ACTING_EVENTS = ("recipe_changed", "reload_requested", "feedback_applied")
FEEDBACK = json.dumps({"frame_id": "0123456789abcdef", "label": "good"}).encode()


def _commands() -> list[tuple[str, bytes]]:
    return [
        (f"{PREFIX}/{INPUT}/product/set", b"other"),
        (f"{PREFIX}/{INPUT}/product/set", PRODUCT.encode()),
        (f"{PREFIX}/reload/set", PRODUCT.encode()),
        (f"{PREFIX}/reload/set", b""),
        (f"{PREFIX}/{PRODUCT}/feedback/set", FEEDBACK),
    ]


def _answer_after_commands(plc, golden_images, part_id: str) -> dict:
    """A part sent after the commands: its result comes after them (one publisher, QoS 1, in order)."""
    plc.publish(IMAGE_TOPIC, json_part(encode(golden_images[1]), part_id))
    plc.wait_for(lambda: any(r["part_id"] == part_id for r in plc.results()), f"result of {part_id}")
    return next(r for r in plc.results() if r["part_id"] == part_id)


@pytest.mark.parametrize("commands", [None, {"enabled": True, "recipe_change": False, "reload": False,
                                              "feedback": False}], ids=["commands_off", "each_command_off"])
def test_disabled_commands_are_ignored(mqtt_broker, banks_dir: Path, golden_images, start_daemon, line_client,
                                       commands) -> None:
    config = line_config(mqtt_broker, banks_dir)
    if commands is not None:
        config["commands"] = commands
    daemon = start_daemon(config)
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"{PREFIX}/#",))
    sent = _commands()
    for topic, payload in sent:
        plc.publish(topic, payload)
    result = _answer_after_commands(plc, golden_images, "after-commands")
    assert result["product"] == PRODUCT and result["verdict"] in ("pass", "fail")
    for event in (*ACTING_EVENTS, "command_refused", "mqtt_unhandled_message"):
        assert not daemon.logged(event), (event, daemon.logged(event))  # not even subscribed
    assert not plc.received("/events") or all(json.loads(p)["event"] == "bank_loaded" for _, p in plc.received("/events"))
    print(f"commands {commands or 'off'}: {len(sent)} commands sent, none acted on, none answered")


REFUSED = [
    ("unknown_source", f"{PREFIX}/ghost/product/set", PRODUCT.encode()),
    ("unknown_product", f"{PREFIX}/{INPUT}/product/set", b"cable"),
    ("traversal_product", f"{PREFIX}/{INPUT}/product/set", b"../../etc"),
    ("traversal_product_2", f"{PREFIX}/{INPUT}/product/set", b"bottle/../x"),
    ("case_product", f"{PREFIX}/{INPUT}/product/set", b"BOTTLE"),
    ("non_utf8_product", f"{PREFIX}/{INPUT}/product/set", b"\xff\xfe"),
    ("reload_traversal", f"{PREFIX}/reload/set", b"../bottle"),
    ("reload_non_utf8", f"{PREFIX}/reload/set", b"\xff\xfe"),
    ("feedback_unknown_product", f"{PREFIX}/cable/feedback/set", FEEDBACK),
    ("feedback_traversal_product", f"{PREFIX}/..%2f/feedback/set", FEEDBACK),
    ("feedback_bad_json", f"{PREFIX}/{PRODUCT}/feedback/set", b"{not json"),
    ("feedback_without_storage", f"{PREFIX}/{PRODUCT}/feedback/set", FEEDBACK),
]


def test_enabled_commands_refuse_unknown_sources_and_products(mqtt_broker, banks_dir: Path, golden_images,
                                                              start_daemon, line_client) -> None:
    daemon = start_daemon(line_config(mqtt_broker, banks_dir, commands={"enabled": True}))
    plc = line_client(mqtt_broker, "plc", subscriptions=(f"{PREFIX}/#",))
    for _, topic, payload in REFUSED:
        plc.publish(topic, payload)
    plc.wait_for(lambda: len(_refusals(plc)) >= len(REFUSED), f"{len(REFUSED)} command_refused events")
    result = _answer_after_commands(plc, golden_images, "after-commands")

    refusals = _refusals(plc)
    assert len(refusals) == len(REFUSED), refusals
    assert [e["topic"] for e in refusals] == [topic for _, topic, _ in REFUSED]
    assert len(daemon.logged("command_refused")) == len(REFUSED)
    for event in ACTING_EVENTS:
        assert not daemon.logged(event), (event, daemon.logged(event))
    states = [json.loads(p) for t, p in plc.received(f"/{INPUT}/state")]
    assert states and all(s["product"] == PRODUCT for s in states)
    assert result["product"] == PRODUCT and result["verdict"] in ("pass", "fail")
    print(f"commands enabled: {len(REFUSED)} commands on unknown sources/products refused "
          f"({', '.join(name for name, _, _ in REFUSED)}); recipe unchanged, no reload")


def _refusals(plc) -> list[dict]:
    events = [json.loads(p) for _, p in plc.received(f"{PREFIX}/events")]
    return [e for e in events if e["event"] == "command_refused"]

"""What a step's templates may fill in is bounded: `{payload}` written 3,000 times in a comment
took 1.9 GB of the shared worker for one exception with a 200 kB payload. Past MAX_FILLED_CHARS
the filling stops, before the text is built, and the step fails when it is reached."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sentinai.core import templates
from sentinai.core.execution import start
from sentinai.core.models import Status
from sentinai.core.run import PlaybookRun, RunStep
from sentinai.core.templates import MAX_FILLED_CHARS, TemplateTooLarge, fill_templates

from .conftest import NOW
from .test_execution import ASSIGN, decided, kinds, packs_for, requests

BIG = {"blob": "x" * 200_000}


def counting_dumps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = json.dumps

    def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        calls.append(1)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(templates.json, "dumps", dumps)
    return calls


def test_text_filled_up_to_the_limit_is_kept() -> None:
    env = {"payload": {"s": "y" * 1_000}}
    text = "{payload.s}" * (MAX_FILLED_CHARS // 1_000)
    assert fill_templates({"text": text}, env) == {"text": "y" * (MAX_FILLED_CHARS // 1_000 * 1_000)}


def test_a_repeated_large_reference_stops_at_the_limit_having_rendered_it_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_dumps(monkeypatch)
    with pytest.raises(TemplateTooLarge, match=r"more than 65,536 characters \(reached at \{payload\}\)"):
        fill_templates({"text": "{payload}" * 3_000}, {"payload": BIG})
    assert len(calls) == 1


@pytest.mark.parametrize("params", [
    {"text": "{payload.a}", "comment": "{payload.b}"},          # the limit is per step, not per value
    {"args": {"x": ["{payload.a}", "{payload.b}"]}},              # whole references count their text
    {"args": {"x": ["{payload}", "{payload}"]}},                 # ... objects as JSON
])
def test_the_limit_is_on_all_of_a_steps_params(params: dict[str, Any]) -> None:
    half = "z" * (MAX_FILLED_CHARS // 2 + 1)
    with pytest.raises(TemplateTooLarge):
        fill_templates(params, {"payload": {"a": half, "b": half, "c": half}})


def test_an_oversized_comment_step_fails_with_the_reason_and_the_run_goes_on() -> None:
    comment = {"name": "note", "action": "add_comment", "params": {"text": "{payload}" * 3_000}}
    packs = packs_for([comment, ASSIGN], on_failure="skip")
    run, effects = start(decided(packs, blob="x" * 200_000), packs, now=NOW)
    assert run is not None
    assert run.steps[0].params == {"text": "{payload}" * 3_000}  # as written, not filled
    assert run.steps[0].error is not None and "65,536" in run.steps[0].error
    assert kinds(effects)[:2] == ["PlaybookStepStarted", "PlaybookStepSkipped"]
    assert run.comments == () and run.step_states == ("skipped", "done")
    skipped = [e for e in effects if getattr(e, "event_type", None) == "PlaybookStepSkipped"][0]
    assert "more than 65,536 characters" in skipped.payload["reason"]


def test_an_oversized_tool_call_fails_without_calling_the_tool() -> None:
    lookup = {"name": "look", "action": "call_tool",
              "params": {"tool": "lookup", "args": {"tradeId": "{payload}" * 3_000}}}
    packs = packs_for([lookup])
    run, effects = start(decided(packs, blob="x" * 200_000), packs, now=NOW)
    assert run is not None
    assert requests(effects) == []
    assert run.status is Status.ESCALATED
    assert run.halted is not None and run.halted.startswith("step 0 (look) failed: the step's templates")


def test_the_reason_round_trips_through_json() -> None:
    comment = {"name": "note", "action": "add_comment", "params": {"text": "{payload}" * 3_000}}
    packs = packs_for([comment])
    run, _ = start(decided(packs, blob="x" * 200_000), packs, now=NOW)
    assert run is not None
    again = PlaybookRun.from_dict(json.loads(json.dumps(run.to_dict())))
    assert again.steps[0].error == run.steps[0].error
    assert "error" not in RunStep("n", run.steps[0].action, {}, False).to_dict()


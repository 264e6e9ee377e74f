"""The playbook run's JSON form: the exception-state table holds it, so a worker reads what the
earlier release (pydantic models) wrote, writes it back the same way, and refuses what is not a run."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from faust.serializers import codecs
from pydantic import TypeAdapter

from sentinai.core.effects import EmitEvent
from sentinai.core.execution import on_sla, on_tool_result
from sentinai.core.run import PlaybookRun
from sentinai.tables import exception_state

from .test_execution import LOOKUP, NOW, kinds
from .test_execution_sla import begin, sla_packs

TABLE = codecs.get_codec("json")

# The changelog value of an exception's state as the release before plain runs wrote it: approved,
# two steps done, a tool call awaited, two notification routes, an SLA plan for the expiry.
STORED_BY_PYDANTIC = (
    b'{"source":["sentinai.exceptions",3,41],"first_seen":1795514400.0,"status":"IN_PROGRESS","severit'
    b'y":"CRITICAL","exception_type":"ALPHA","playbook_id":"pb","current_step":null,"version":9,"run":'
    b'{"tenant_id":"mini-co","exception_id":"EX-1","playbook_id":"pb","on_failure":"escalate","steps":'
    b'[{"name":"assign","action":"assign_owner","params":{"team":"ops"},"risky":false,"tool":null,"arg'
    b'uments":null,"blocked":false},{"name":"note","action":"add_comment","params":{"text":"trade T-1 '
    b'checked"},"risky":false,"tool":null,"arguments":null,"blocked":false},{"name":"look","action":"c'
    b'all_tool","params":{"tool":"lookup","args":{"tradeId":"T-1","deep":true}},"risky":false,"tool":"'
    b'lookup","arguments":{"tradeId":"T-1","deep":true},"blocked":false}],"step_states":["done","done"'
    b',"running"],"attempts":[0,0,1],"next_step":2,"status":"IN_PROGRESS","auto":true,"approval":"GRAN'
    b'TED","approval_requested_at":"2026-11-24T10:00:00Z","approval_expires_at":"2026-11-24T11:00:00Z"'
    b',"approval_by":"olivia","approval_comment":"go ahead","waiting_for":"tool","halted":null,"owner"'
    b':"ops","comments":["trade T-1 checked"],"routes":[{"channel":"slack","target":"#ops","severities'
    b'":["CRITICAL"],"events":["ApprovalRequested"]},{"channel":"email","target":"desk@example.com","s'
    b'everities":[],"events":[]}],"exception_type":"ALPHA","severity":"CRITICAL","source_system":null,'
    b'"sla_deadline":"2026-11-24T10:30:00Z","version":9,"sla_plans":{"expired":{"playbook_id":"sla-bre'
    b'ach","on_failure":"escalate","approved":true,"steps":[{"name":"page","action":"add_comment","par'
    b'ams":{"text":"T-1 breached"},"risky":false,"tool":null,"arguments":null,"blocked":false},{"name"'
    b':"own","action":"assign_owner","params":{"team":"sla-desk"},"risky":false,"tool":null,"arguments'
    b'":null,"blocked":false}],"reasons":["domain playbook sla-breach (priority 9)","exceptionType ALP'
    b'HA is one of its exceptionTypes","condition holds: sla.expired == true"]}},"sla_expired_escalate'
    b's":true}}'
)


def test_a_run_stored_by_the_earlier_release_loads_and_is_written_back_the_same() -> None:
    state = TABLE.loads(STORED_BY_PYDANTIC)
    run = PlaybookRun.from_dict(state["run"])
    assert (run.approval, run.approval_by, run.owner, run.waiting_for) == ("GRANTED", "olivia", "ops", "tool")
    assert run.approval_requested_at == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert [r.channel for r in run.routes] == ["slack", "email"]
    assert run.sla_plans["expired"].steps[0].params == {"text": "T-1 breached"}
    assert TABLE.dumps(exception_state.with_run(dict(state), run)) == STORED_BY_PYDANTIC


def test_a_stored_run_goes_on_where_it_stopped() -> None:
    run = PlaybookRun.from_dict(TABLE.loads(STORED_BY_PYDANTIC)["run"])
    done, effects = on_tool_result(run, step=2, succeeded=True, detail={"response": {"ok": True}, "attempts": 1},
                                   idempotency_key=run.tool_key(2), now=NOW)
    assert kinds(effects)[:2] == ["ToolExecutionSucceeded", "PlaybookStepCompleted"]
    assert done.completed and done.status == "RESOLVED" and done.version == run.version + sum(isinstance(e, EmitEvent) for e in effects)
    assert run.waiting_for == "tool" and run.step_states[2] == "running"  # the run given is left as it was


def test_inputs_that_change_nothing_give_back_the_run_they_were_given() -> None:
    run = begin(sla_packs([LOOKUP]))
    assert run.waiting_for == "tool" and not run.sla_plans
    assert on_sla(run, "imminent", now=NOW) == (run, [])
    assert on_sla(run, "imminent", now=NOW)[0] is run


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC), datetime(2026, 12, 7, 1, 2, 3, 450, tzinfo=UTC),
    datetime(2026, 12, 7, 1, 2, 3, 999999, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 12, 7),
])
def test_datetimes_are_written_as_pydantic_wrote_them(moment: datetime) -> None:
    run = PlaybookRun.from_dict(TABLE.loads(STORED_BY_PYDANTIC)["run"])
    run.approval_expires_at = moment
    written = run.to_dict()["approval_expires_at"]
    assert written == TypeAdapter(datetime).dump_python(moment, mode="json")
    assert PlaybookRun.from_dict(run.to_dict()).approval_expires_at == moment


def _broken(change: Any) -> dict[str, Any]:
    raw = copy.deepcopy(TABLE.loads(STORED_BY_PYDANTIC)["run"])
    change(raw)
    return raw


@pytest.mark.parametrize(("name", "change"), [
    ("no steps", lambda r: r.pop("steps")),
    ("an unknown status", lambda r: r.update(status="DONE")),
    ("an unknown step state", lambda r: r["step_states"].__setitem__(0, "finished")),
    ("steps and states of different lengths", lambda r: r["step_states"].pop()),
    ("a version that is text", lambda r: r.update(version="9")),
    ("auto that is not a flag", lambda r: r.update(auto=1)),
    ("an unknown approval state", lambda r: r.update(approval="MAYBE")),
    ("a deadline that is no time", lambda r: r.update(sla_deadline="soon")),
    ("params that are a list", lambda r: r["steps"][0].update(params=[])),
    ("an unknown SLA phase", lambda r: r["sla_plans"].update(breached=r["sla_plans"]["expired"])),
    ("a route to an unknown channel", lambda r: r["routes"][0].update(channel="pigeon")),
])
def test_what_is_not_a_run_is_refused(name: str, change: Any) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        PlaybookRun.from_dict(_broken(change))

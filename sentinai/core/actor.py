"""Who did something: an agent of the pipeline, a user of the API, or the system's timers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ActorType = Literal["agent", "user", "system"]


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: ActorType
    id: str


ACT_AGENT = Actor(type="agent", id="act")
TOOLS_AGENT = Actor(type="agent", id="tools")
TIMER = Actor(type="system", id="timer")

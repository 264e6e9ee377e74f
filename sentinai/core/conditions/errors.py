"""The one error type the condition parser raises."""


class ConditionSyntaxError(ValueError):
    """A condition that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, reason: str, position: int, source: str) -> None:
        self.reason = reason
        self.position = position
        self.source = source
        super().__init__(f"syntax error at column {self.column}: {reason}")

    @property
    def column(self) -> int:
        return self.position + 1

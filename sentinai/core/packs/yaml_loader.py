"""YAML for packs: the safe loader without aliases.

An alias (`*name`) repeats a node without repeating its text, so a few hundred bytes of nested
aliases (a "billion laughs") expand to gigabytes once anything walks the result. Packs have no
use for them; the scanner refuses the first alias it meets, before anything is built.
"""

from __future__ import annotations

from typing import Any

import yaml


class AliasRefused(yaml.MarkedYAMLError):
    """The document uses an alias."""


class _NoAliasLoader(yaml.SafeLoader):
    def fetch_alias(self) -> None:
        raise AliasRefused(problem="aliases (*name) are not allowed in packs",
                           problem_mark=self.get_mark())


def load_yaml(text: str) -> Any:
    """One YAML document, parsed as `yaml.safe_load` does but with aliases refused."""
    loader = _NoAliasLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()

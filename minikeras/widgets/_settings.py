"""What the widgets' settings dataclasses share: their names, a checked ``update`` and the
JSON state that replays a run (the web playground's URL hash)."""
import dataclasses
import json


class Settings:
    """Mixin for a frozen dataclass of settings; ``WHAT`` names them in error messages."""

    WHAT = "widget"

    @classmethod
    def names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _check_names(cls, names, where=""):
        unknown = sorted(set(names) - set(cls.names()))
        if unknown:
            raise ValueError(f"Unknown {cls.WHAT} setting(s) {unknown}{where}; the settings are {list(cls.names())}.")

    def update(self, **changes):
        """A new, validated copy with ``changes`` applied."""
        self._check_names(changes)
        return dataclasses.replace(self, **changes)

    def changed(self, other):
        """The names of the settings that differ from ``other``."""
        return {name for name in self.names() if getattr(self, name) != getattr(other, name)}

    def to_state(self):
        """A JSON-able dict of every setting (tuples become lists)."""
        return {name: list(v) if isinstance(v, tuple) else v for name, v in dataclasses.asdict(self).items()}

    def to_json(self):
        return json.dumps(self.to_state(), sort_keys=True)

    @classmethod
    def from_state(cls, state):
        """The settings a ``to_state()`` dict (or its JSON string) describes."""
        state = json.loads(state) if isinstance(state, str) else dict(state)
        cls._check_names(state, " in the state")
        return cls(**state)

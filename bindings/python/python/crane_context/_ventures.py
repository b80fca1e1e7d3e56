"""The server's venture list (v2 ``GET /ventures``): ``client.ventures()``.

The library keeps the list in the local store, so it answers offline too:
``stale`` says the server could not be reached and this is the stored list,
``age_seconds`` how old the list is (``None``: fetched just now). Same
rules as ``_models.py``: frozen dataclasses, JSON as ``dict``.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional

from ._models import JSONObject, parse_object

__all__ = ["Venture", "VentureList"]


@dataclass(frozen=True)
class Venture:
    """One venture the server knows (its ``code`` is what a session start takes as ``venture``)."""

    code: str
    name: Optional[str] = None
    org: Optional[str] = None
    """The GitHub organisation its repositories live in."""
    repos: List[str] = field(default_factory=list)
    """Its repositories' names (without owner)."""
    capabilities: List[str] = field(default_factory=list)
    portfolio: Optional[JSONObject] = field(default=None, repr=False)
    """Status, stage, tagline… as the server sent them, parsed."""

    @classmethod
    def _from(cls, v: Any) -> "Venture":
        return cls(
            code=v.code,
            name=v.name,
            org=v.org,
            repos=list(v.repos),
            capabilities=list(v.capabilities),
            portfolio=parse_object(v.portfolio_json),
        )


@dataclass(frozen=True)
class VentureList:
    """The venture list and where it came from (``get(code)`` finds one)."""

    ventures: List[Venture]
    stale: bool
    """True when the server was unreachable and this is the stored list."""
    age_seconds: Optional[float] = None
    """How old the stored list is; ``None`` when it was fetched just now."""

    @property
    def codes(self) -> List[str]:
        """The ventures' codes, in the server's order."""
        return [v.code for v in self.ventures]

    def get(self, code: str) -> Optional[Venture]:
        """The venture of that code, or ``None``."""
        for v in self.ventures:
            if v.code == code:
                return v
        return None

    @classmethod
    def _from(cls, r: Any) -> "VentureList":
        age = None if r.age_ms is None else r.age_ms / 1000.0
        return cls(ventures=[Venture._from(v) for v in r.ventures], stale=r.stale, age_seconds=age)

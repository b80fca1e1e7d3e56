"""Handoff pagers walked page by page, for both clients.

The generated pagers (``handoff_pager``, ``handoff_window_pager``) keep the
cursor and the library's loop guard; these generators only fetch the next
page when iteration needs it and convert each handoff. Being generators,
nothing is fetched before the first ``next()``.
"""

from typing import Any, AsyncIterator, Iterator

from ._errors import acall, call
from ._models import Handoff


def walk_handoffs(pager: Any) -> Iterator[Handoff]:
    """Every handoff of a generated pager, through its blocking ``next_page``."""
    while True:
        page = call(pager.next_page_blocking)
        if page is None:
            return
        for h in page.handoffs:
            yield Handoff._from(h)


async def awalk_handoffs(pager: Any) -> AsyncIterator[Handoff]:
    """Every handoff of a generated pager, through its awaitable ``next_page``."""
    while True:
        page = await acall(pager.next_page())
        if page is None:
            return
        for h in page.handoffs:
            yield Handoff._from(h)

"""Page slicing for lists whose total is known (the list index knows it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class PageOutOfRange(LookupError):
    def __init__(self, number: int, last: int) -> None:
        super().__init__(f"Page {number} does not exist: the last page is {last}.")
        self.number = number
        self.last = last


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)


def paginate(items: Sequence[T], number: int, size: int) -> Page[T]:
    """Slice page `number` (1-based) out of `items`; raise PageOutOfRange past the end."""
    page = Page(items=[], number=number, size=size, total=len(items))
    if number > page.pages:
        raise PageOutOfRange(number, page.pages)
    start = (number - 1) * size
    return Page(items=list(items[start : start + size]), number=number, size=size, total=len(items))

"""Seeded entity ids: the n-th row of a table gets the same UUID on every run and on every write path.

An RFC 9562 version-8 (custom) UUID: 60 bits from a hash of (seed, table) and a 62-bit per-table
counter. Cheaper than uuid5 (no hash per id) and unique within a seed; ids of different seeds differ.
The service path hands `Ids` to ops_api.clock.id_source, which calls it at flush in flush order;
the bulk writer calls it in the same order.
"""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable


class Ids:
    def __init__(self, seed: int):
        self.seed = seed
        self.counters: dict[str, int] = defaultdict(int)
        self._prefix: dict[str, int] = {}

    def prefix(self, table: str) -> int:
        if table not in self._prefix:
            high = int.from_bytes(hashlib.blake2b(f"{self.seed}:{table}".encode(), digest_size=8).digest(), "big")
            self._prefix[table] = ((high & ~0xF000) | 0x8000) << 64 | (0b10 << 62)  # version 8, RFC variant
        return self._prefix[table]

    def __call__(self, table: str) -> uuid.UUID:
        self.counters[table] += 1
        return uuid.UUID(int=self.prefix(table) | self.counters[table])

    def text_source(self, table: str) -> Callable[[], str]:
        """The table's next id as its canonical string (what the bulk writer stores and replicates):
        the same sequence as __call__, without building UUID objects (n < 2**48: the last group is
        n in hex). Sources of one table share its counter."""
        head, counters = str(uuid.UUID(int=self.prefix(table)))[:24], self.counters

        def next_text() -> str:
            n = counters[table] = counters[table] + 1
            return head + format(n, "012x")

        return next_text

    def text(self, table: str) -> str:
        return self.text_source(table)()

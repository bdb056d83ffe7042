"""A batch chained at once carries the hashes the audit recomputes, whatever its events hold.

`chain_drafts` writes each event's canonical text inline (a step's transition chains ~100
events before its commands may start); `event_hash` is what `runbook journal verify` and
the exports check against. They must never drift apart.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from runbook.events import event_hash
from runbook.journal._chain import GENESIS_HASH, verify_chain
from runbook.journal._rows import Draft, chain_drafts

names = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["s1", "db-01", 'é"\\\n']))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
data = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner)),
        max_leaves=5,
    ),
    max_size=4,
)
# Times that go back, repeat, cross a second and carry fractions that round up.
times = st.one_of(
    st.floats(1.7e9, 1.7e9 + 3, allow_nan=False),
    st.sampled_from([1.7e9 + 0.9995, 1.7e9 + 0.99951, 1.7e9 + 1.0, 0.0]),
)
drafts = st.lists(
    st.builds(
        Draft,
        type=st.sampled_from(["eta", "host_started", "x"]),
        ts=times,
        step=names,
        host=names,
        data=data,
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(drafts, st.one_of(st.none(), times), st.integers(0, 10**6))
def test_a_chained_batch_verifies_and_each_hash_is_the_audits(
    batch: list[Draft], now: float | None, seq: int
) -> None:
    events, texts = chain_drafts("run-1", batch, (seq, 1.7e9 + 1.5, "0" * 64), now)
    assert [e.seq for e in events] == list(range(seq + 1, seq + 1 + len(batch)))
    assert all(e.hash == event_hash(e) for e in events)
    assert events[0].prev_hash == "0" * 64
    assert [e.ts for e in events] == sorted(e.ts for e in events)  # never back in time
    assert len(texts) == len(events)
    # A run's first batch, as the audit reads it back.
    first, _ = chain_drafts("run-1", batch, (0, 0.0, GENESIS_HASH), now)
    assert verify_chain(first).ok

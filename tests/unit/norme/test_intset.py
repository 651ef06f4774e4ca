from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dsnlink.norme.intset import IntSet, nir_key


@given(st.lists(st.integers(1, 2**64 - 1), max_size=3000))
def test_intset_behaves_like_a_set(keys: list[int]) -> None:
    ours, ref = IntSet(bits=3), set()
    for key in keys:
        assert ours.add(key) is (key not in ref)
        ref.add(key)
    assert len(ours) == len(ref)


def test_nir_keys_are_distinct_for_corsica() -> None:
    keys = {nir_key(b"185022A123456"), nir_key(b"185022B123456"), nir_key(b"1850220123456")}
    assert None not in keys and len(keys) == 3
    assert nir_key(b"185022C123456") is None and nir_key(b"123") is None

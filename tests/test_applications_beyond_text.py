"""gptlib.data.splits.leave_last_out: the split of chapter 16's sequential recommendation."""
import pytest

from gptlib.data.splits import leave_last_out


def test_time_order_ties_and_filter():
    rows = [(2, "c", 5, 30), (1, "x", 7, 5), (2, "a", 8, 10), (2, "b", 1, 20), (2, "d", 9, 30),
            (1, "y", 3, 6), (3, "p", 1, 1), (3, "q", 1, 2), (3, "r", 1, 3), (2, "e", 2, 40)]
    split = leave_last_out(rows, min_items=3)
    assert list(split["train"]) == [2, 3]            # user 1 has only two interactions
    assert split["train"][2] == ["a", "b", "c"]      # sorted by time; c before d (same time, input order)
    assert split["validation"][2] == "d" and split["test"][2] == "e"
    assert split["train"][3] == ["p"] and split["validation"][3] == "q" and split["test"][3] == "r"
    assert leave_last_out(rows, min_items=6)["test"] == {}


def test_every_interaction_lands_once():
    rows = [(u, f"i{u}-{k}", 0, (7 * k) % 11) for u in range(5) for k in range(3 + u)]
    split = leave_last_out(rows)
    for u in range(5):
        held = split["train"][u] + [split["validation"][u], split["test"][u]]
        assert sorted(held) == sorted(r[1] for r in rows if r[0] == u)
        times = {r[1]: r[-1] for r in rows if r[0] == u}
        assert [times[i] for i in held] == sorted(times[i] for i in held)


@pytest.mark.parametrize("bad", [2, 0, True, 3.0])
def test_min_items_checked(bad):
    with pytest.raises(ValueError, match="min_items"):
        leave_last_out([(1, "a", 0, 1)], min_items=bad)


def test_short_rows_rejected():
    with pytest.raises(ValueError, match="user, item"):
        leave_last_out([(1, "a")])

"""The queue's pop raced for real: six processes released at one instant over one queue of WAITING trials,
three rounds, every pop checked at the database (a sequential "a pops, then b pops" test cannot fail).
`python -m tests.pop_race demo sqlite:///x.db --naive` shows the same rounds on a pop that reads the state and
then updates by id: trials popped twice."""

from tests.pop_race import CELLS, race


def check(rounds: list[dict]) -> None:
    for r in rounds:
        assert r["trials"] == CELLS
        assert sorted(r["pops"]) == sorted(r["holds"]) and len(r["pops"]) == r["trials"]  # every trial popped
        assert [t for t, n in r["pops"].items() if n > 1] == []  # ... by one worker only
        # ... which holds it: its hold row committed with the state change, not overwritten by a loser's.
        assert r["held_by"] == r["popped_by"]


def test_six_poppers_started_together_on_sqlite_never_take_one_trial_twice(tmp_path):
    check(race(f"sqlite:///{tmp_path / 'race.db'}", tmp_path))


def test_six_poppers_started_together_on_postgres_never_take_one_trial_twice(postgres_url, tmp_path):
    check(race(postgres_url, tmp_path))

"""`lab submit` refusals that need no broker: the missing extra, a URL that is not Redis, a broker lost midway."""

from __future__ import annotations

import sys

import pytest

from crawler.lab.farm import FarmError, _send, shown_broker, submit
from crawler.lab.farm_index import FarmIndex, FarmSettings
from crawler.lab.job import JobSpec
from crawler.lab.options import LabOptions


@pytest.fixture
def apps(tmp_path):
    listing = tmp_path / "apps.txt"
    listing.write_text("com.a\ncom.b\n")
    return listing


def test_without_the_farm_extra_submit_says_how_to_install_it(apps, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "celery", None)  # what `import celery` meets without the extra
    with pytest.raises(FarmError) as error:
        submit(apps, "redis://127.0.0.1:6379/0", tmp_path / "lab", LabOptions())
    assert str(error.value) == "naysayer lab submit needs the farm extra: pip install 'naysayer[farm]'"
    assert not (tmp_path / "lab").exists()


def test_a_broker_that_is_not_redis_is_refused_before_anything_is_created(apps, tmp_path):
    with pytest.raises(FarmError, match="not a Redis URL"):
        submit(apps, "amqp://guest@localhost//", tmp_path / "lab", LabOptions())
    assert not (tmp_path / "lab").exists()


def test_broker_passwords_are_not_shown():
    shown = shown_broker("redis://:s3cret@farm.example:6379/2")
    assert "s3cret" not in shown and shown.endswith("@farm.example:6379/2")


class BrokerLostAfter:
    """A Celery app whose broker goes away after `n` messages (as a Redis restart mid-submit would)."""

    def __init__(self, n: int):
        self.n, self.sent = n, []

    def send_task(self, name, args, **kwargs):
        from kombu.exceptions import OperationalError

        if len(self.sent) >= self.n:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append(args)


def test_a_broker_lost_midway_names_the_jobs_queued_but_not_sent_and_how_to_resend(tmp_path):
    pytest.importorskip("kombu")
    out = tmp_path / "lab"
    with FarmIndex.create_farm(out, LabOptions(), FarmSettings(lab_id="x")) as index:
        index.add_jobs([JobSpec(p) for p in ("com.a", "com.b", "com.c", "com.d")])
        app = BrokerLostAfter(2)
        with pytest.raises(FarmError) as error:
            _send(app, "redis://:pw@farm:6379/0", index, index.jobs("queued"))
        assert [args[1] for args in app.sent] == [1, 2]
        assert {j.state for j in index.jobs()} == {"queued"}  # nothing claimed, nothing lost
    line = str(error.value)
    assert "\n" not in line and "pw" not in line
    assert "2 of 4 job(s) sent" in line and "com.c, com.d" in line and "com.a" not in line
    assert f"--resend --broker URL --out {out}" in line

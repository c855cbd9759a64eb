"""Shared fixtures of the pond binding's tests.

Run with /usr/bin/python3 -m pytest and the built package on PYTHONPATH
(bindings/python/run-tests.sh does both).
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

import pond

# Deterministic by default (CI); POND_HYPOTHESIS=dev explores new examples.
settings.register_profile(
    "ci",
    database=None,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", database=None, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("POND_HYPOTHESIS", "ci"))

T0 = 1_700_000_000  # a fixed "now": pond never reads the clock

DEFS = {
    "attributes": [
        {"name": "spend", "type": "int"},
        {"name": "birthday", "type": "time"},
        {"name": "region", "type": "string"},
        {"name": "vip", "type": "bool"},
    ],
    "tag_groups": [
        {"name": "src", "tags": ["store", "ad", "live"]},
        {"name": "status", "exclusive": True, "tags": ["todo", "doing", "done"]},
        {"name": "camp"},
        {"name": "来源", "tags": ["门店扫码", "直播"]},
    ],
}


class DictStorage:
    """A pond storage kept in a dict: what a host does with a SQL table or
    Redis, in a dozen lines. fail lets a test make the next commit raise."""

    def __init__(self):
        self.data = {}
        self.commits = 0
        self.fail = None  # an exception for the next commit to raise
        self.scans = 0

    def scan(self, prefix):
        self.scans += 1
        for k in sorted(self.data):
            if k.startswith(prefix):
                yield k, self.data[k]

    def commit(self, ops):
        assert isinstance(ops, list)
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        new = dict(self.data)
        for k, v in ops:
            assert isinstance(k, bytes) and (v is None or isinstance(v, bytes))
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        self.data = new
        self.commits += 1


@pytest.fixture
def db():
    with pond.open() as d:
        d.define(DEFS)
        yield d


@pytest.fixture
def people(db):
    """db with customers 1..10 added at T0."""
    for cid in range(1, 11):
        db.upsert(cid, T0)
    return db


def pytest_report_header(config):
    return f"pond {pond.version()} from {os.path.dirname(pond.__file__)}, Python {sys.version.split()[0]}"

"""Backend fixtures: a Ray backend on the session's local cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.backends import RayBackend
from tests.support.ray_cluster import RayCluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    with RayCluster(nodes=1) as cluster:
        yield cluster


@pytest.fixture
def ray_backend(ray_cluster: RayCluster) -> RayBackend:
    return ray_cluster.backend()

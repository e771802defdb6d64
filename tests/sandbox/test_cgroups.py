"""The cgroup layer on fake hierarchies of both versions (the machine's own one is used by test_attacks.py)."""
import os

import pytest

from autograder.cgroups import CgroupSystem


def fake_v2(tmp_path, controllers="cpu memory pids"):
    base = tmp_path / "unified" / "grader.scope"
    base.mkdir(parents=True)
    (base / "cgroup.controllers").write_text(controllers + "\n")
    (base / "cgroup.subtree_control").write_text("")
    return base, [("cgroup2", str(tmp_path / "unified"), {"rw"})], {"": "/grader.scope"}


def test_v2_groups_get_memory_pids_and_cpu_limits(tmp_path):
    base, mounts, own = fake_v2(tmp_path)
    system, why = CgroupSystem.detect(mounts, own)
    assert system and system.mechanism == "cgroup v2", why
    assert (base / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    group = system.create()
    path = base / group.name
    for name in ("memory.max", "memory.swap.max", "cpu.max"):
        (path / name).write_text("")
    group.limit(2**30, 64, 1.0)
    assert (path / "memory.max").read_text() == str(2**30) and (path / "memory.swap.max").read_text() == "0"
    assert (path / "pids.max").read_text() == "64" and (path / "cpu.max").read_text() == "100000 100000"
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n")
    (path / "pids.events").write_text("max 5\n")
    assert group.oom_kills() == 2 and group.pids_refused() == 5
    group.attach(os.getpid())
    assert (path / "cgroup.procs").read_text() == str(os.getpid())


def test_v2_without_delegated_controllers_is_refused_with_the_reason(tmp_path):
    _, mounts, own = fake_v2(tmp_path, controllers="cpu")
    system, why = CgroupSystem.detect(mounts, own)
    assert system is None and "not delegated" in why


def test_v1_uses_one_hierarchy_per_controller(tmp_path):
    mounts, own = [], {}
    for controller in ("memory", "pids", "cpu"):
        (tmp_path / controller / "grader").mkdir(parents=True)
        mounts.append(("cgroup", str(tmp_path / controller), {"rw", controller}))
        own[controller] = "/grader"
    system, why = CgroupSystem.detect(mounts, own)
    assert system and system.mechanism == "cgroup v1", why
    group = system.create()
    (tmp_path / "memory" / "grader" / group.name / "memory.memsw.limit_in_bytes").write_text("")
    group.limit(3 * 2**30, 32, 0.5)
    memory = tmp_path / "memory" / "grader" / group.name
    assert (memory / "memory.limit_in_bytes").read_text() == str(3 * 2**30)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(3 * 2**30)
    assert (tmp_path / "pids" / "grader" / group.name / "pids.max").read_text() == "32"
    assert (tmp_path / "cpu" / "grader" / group.name / "cpu.cfs_quota_us").read_text() == "50000"
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert group.oom_kills() == 3


def test_no_cgroup_file_system_means_rlimits_and_says_why():
    system, why = CgroupSystem.detect([], {})
    assert system is None and "no cgroup" in why


@pytest.mark.skipif(CgroupSystem.detect()[0] is None, reason="this machine's cgroups are not writable here")
def test_this_machines_groups_are_created_limited_and_removed():
    system, _ = CgroupSystem.detect()
    group = system.create()
    group.limit(2**30, 16, 1.0)
    assert all(path.is_dir() for path in group.dirs.values())
    assert group.remove() and not any(path.exists() for path in group.dirs.values())

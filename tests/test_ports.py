"""Launcher ports: stable per run, but never one that something already listens on."""

import socket
import subprocess
import sys

from p2law.ports import launcher_port, preferred_port


def test_free_preferred_port_is_used_and_stable():
    assert launcher_port("llama-s/depth/rho~0.1") == launcher_port("llama-s/depth/rho~0.1")
    assert preferred_port("llama-s/depth/rho~0.1") != preferred_port("llama-s/depth/rho~0.2")


def test_busy_preferred_port_is_skipped():
    run_id = "busy-port-test"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("", preferred_port(run_id)))
        holder.listen()
        port = launcher_port(run_id)
        assert port != preferred_port(run_id)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("", port))  # really free


def test_module_prints_the_port():
    out = subprocess.run([sys.executable, "-m", "p2law.ports", "x/y/rho~0.1"],
                         capture_output=True, text=True, check=True).stdout
    assert int(out) == launcher_port("x/y/rho~0.1")

"""The benchmarks/ scripts run (--quick) and end with one JSON line of positive figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def run(script: str, *args: str, ok=(0,)) -> tuple[int, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in ok, done.stdout[-2000:] + done.stderr[-2000:]
    return done.returncode, done.stdout


def final_json(stdout: str) -> dict:
    lines = stdout.strip().splitlines()
    assert len(lines) >= 2, stdout  # human-readable lines first
    return json.loads(lines[-1])


def positive(*values):
    for v in values:
        assert isinstance(v, (int, float)) and v > 0, values


@pytest.mark.parametrize("script", ["flop_efficiency.py", "fit_suite.py", "end_to_end.py",
                                    "stage_memory.py", "gpu_posttrain.py"])
def test_help(script):
    _, out = run(script, "--help")
    assert "usage:" in out and "--quick" in out


def test_flop_efficiency_quick():
    result = final_json(run("flop_efficiency.py", "--quick")[1])
    positive(result["peak_gflops"], result["best_ratio"])
    assert result["threads"] == 1 and result["models"]
    for m in result["models"].values():
        positive(m["params"], m["tokens_per_s"], m["achieved_gflops"], m["ratio"])


def test_fit_suite_quick():
    result = final_json(run("fit_suite.py", "--quick")[1])
    assert set(result["stages"]) == {"fit", "bootstrap", "selection"}
    positive(result["total_wall_s"], result["stages"]["fit"]["wall_s"],
             result["stages"]["bootstrap"]["wall_s"])
    task = result["tasks"][0]
    assert task["law"] == "L1" and task["error"] is None
    assert task["bootstrap"]["n"] == 20 and task["bootstrap"]["n_converged"] > 0


def test_stage_memory_summarises_benchmark_tsvs(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "fit" / "llama" / "depth").mkdir(parents=True)
    (tmp_path / "fit" / "llama" / "depth" / "L1.tsv").write_text(
        header + "3.0\t0:00:03\t150.5\t1500\t80\t100\t0\t0\t50\t2.5\n")
    (tmp_path / "fit" / "llama" / "depth" / "H2.tsv").write_text(
        header + "5.0\t0:00:05\t170.0\t1500\t80\t100\t0\t0\t50\t4.0\n")
    (tmp_path / "table.tsv").write_text(header + "0.5\t0:00:00\t90.0\t900\t40\t50\t0\t0\t80\t-\n")
    result = final_json(run("stage_memory.py", "--quick", "--benchmarks", str(tmp_path))[1])
    fit, table = result["rules"]["fit"], result["rules"]["table"]
    assert fit["jobs"] == 2 and fit["max_rss_mb"] == 170.0 and fit["wall_s_total"] == 8.0
    assert fit["cpu_s_total"] == 6.5 and table["cpu_s_total"] == 0  # "-" is not measured
    assert result["peak_rule"] == "fit" and result["total"]["jobs"] == 3
    positive(result["total"]["wall_s_total"], result["total"]["max_rss_mb"])


def test_gpu_posttrain_refuses_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the benchmark itself is a GPU check")
    code, _ = run("gpu_posttrain.py", "--steps", "1", ok=(2,))
    assert code == 2

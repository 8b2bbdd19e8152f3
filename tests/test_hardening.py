"""The hardening battery's kinds (issue 14), one test or more per finding: size limits before any
work, interrupts, whole-or-nothing outputs, scheduler timeouts, extreme time scales, clear one-line
messages, bounded spec nesting, follow-up warnings. Each case checks the exit code, the single
line on stderr and that no partial file is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run
from walkback.analysis import analyze
from walkback.exceptions import DataError, shown_value
from walkback.interrupts import Terminated, deferred
from walkback.outputs import atomic_path
from walkback.schema import TrialData

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "data" / "synthetic" / "walkback_twin.csv"
KM = ROOT / "data" / "synthetic" / "km_example"
SPEC = ROOT / "src" / "walkback" / "trials" / "walkback.toml"
AL = [
    "--time-col", "activity_limiting_days", "--event-col", "activity_limiting_event",
    "--arm-col", "arm", "--treatment", "intervention", "--control", "control",
]  # fmt: skip
WALKBACK = [sys.executable, "-m", "walkback"]


def one_line(code, err, *fragments, codes=(2,)):
    """The expected exit code, exactly one line on stderr, no traceback, the fragments in it."""
    assert code in codes, (code, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert "np.float64" not in err, err
    for frag in fragments:
        assert frag in err, err


def no_leftovers(folder: Path) -> None:
    """No temporary file of an atomic write is left in ``folder``."""
    assert not [p.name for p in folder.iterdir() if ".part" in p.name]


# ---- 1. size limits, checked before any work ----------------------------------------------------
@pytest.mark.parametrize(
    "argv, option",
    [
        (["montecarlo", "--replicates", 10**12, "--seed", 1], "--replicates 1,000,000,000,000"),
        (["montecarlo", "--replicates", 10, "--n", 10**8, "--seed", 1], "--n 100,000,000"),
        (["power", "--n", f"400,{10**9}", "--replicates", 10, "--seed", 1], "--n 1,000,000,000"),
        (["economics", TWIN, "--bootstrap", 10**12], "--bootstrap 1,000,000,000,000"),
    ],
)
def test_sizes_over_the_machine_limit_are_refused_at_once(argv, option, capsys):
    t0 = time.perf_counter()
    code, out, err = run(argv, capsys)
    one_line(code, err, option, "over this machine's limit of", "would need", "of memory")
    assert out == "" and time.perf_counter() - t0 < 5


def test_spec_n_over_the_limit_is_refused(tmp_path, capsys):
    text = SPEC.read_text()
    spec = tmp_path / "huge.toml"
    spec.write_text(text.replace('n = { target = "n_intervention" }', "n = 1000000000", 1))
    argv = ["simulate", "--spec", spec, "--seed", 1, "--out", tmp_path / "x.csv"]
    code, out, err = run(argv, capsys)
    one_line(code, err, "huge.toml: arms n (total) 1,000,000,350", "limit", "would need")
    assert not (tmp_path / "x.csv").exists()


def test_reconstruct_with_billions_at_risk_is_refused(tmp_path, capsys):
    risk = pd.read_csv(KM / "at_risk.csv")
    risk.loc[risk.time == 0, "n_at_risk"] = 3_500_000_000
    risk.loc[risk.time > 0, "n_at_risk"] = 3_000_000_000
    risk.to_csv(tmp_path / "risk.csv", index=False)
    argv = ["reconstruct", "--curve", KM / "curve.csv", "--at-risk", tmp_path / "risk.csv"]
    code, out, err = run([*argv, "--out", tmp_path / "ipd.csv"], capsys)
    one_line(code, err, "participants at time 0 (all arms) 7,000,000,000", "limit", "memory")
    assert not (tmp_path / "ipd.csv").exists()


def test_the_memory_budget_can_be_set(monkeypatch, capsys):
    monkeypatch.setenv("WALKBACK_MEMORY_BUDGET", "1e6")
    code, _, err = run(["montecarlo", "--replicates", 20_000, "--seed", 1], capsys)
    one_line(code, err, "--replicates 20,000", "limit of 15,625", "976.6 KiB")


# ---- 3. interrupts and whole-or-nothing outputs -------------------------------------------------
def test_a_signal_inside_deferred_work_is_raised_after_it():
    with pytest.raises(KeyboardInterrupt), deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler records it; the work goes on
        finished = True
    assert finished
    with pytest.raises(Terminated), deferred():
        os.kill(os.getpid(), signal.SIGTERM)


def test_an_atomic_write_that_fails_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    no_leftovers(tmp_path)


def _start(argv, cwd):
    return subprocess.Popen(
        [*WALKBACK, *map(str, argv)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "sig, code, name", [(signal.SIGINT, 130, "run.csv"), (signal.SIGTERM, 143, "run.parquet")]
)
def test_montecarlo_stopped_by_a_signal_leaves_no_output(tmp_path, sig, code, name):
    argv = ["montecarlo", "--replicates", 5_000_000, "--seed", 1, "--block", 256, "--out", name]
    proc = _start(argv, tmp_path)
    deadline = time.monotonic() + 60
    while not any(".part" in p.name for p in tmp_path.iterdir()):  # blocks are being written
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.count("\n") == 1 and "Traceback" not in err and "SystemError" not in err, err
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file


def test_existing_outputs_are_kept_without_force(tmp_path, capsys):
    out = tmp_path / "trial.csv"
    out.write_text("mine\n")
    code, _, err = run(["simulate", "--seed", 1, "--out", out], capsys)
    one_line(code, err, str(out), "already exists", "--force")
    assert out.read_text() == "mine\n"
    code, _, err = run(["simulate", "--seed", 1, "--out", out, "--force"], capsys)
    assert code == 0 and out.read_text().startswith("participant_id")
    no_leftovers(tmp_path)


def test_twin_keeps_an_existing_sidecar_without_force(tmp_path, capsys):
    (tmp_path / "x.json").write_text("{}")
    code, _, err = run(["twin", "--out", tmp_path / "x.csv"], capsys)
    one_line(code, err, "x.json already exists", "--force")
    assert (tmp_path / "x.json").read_text() == "{}" and not (tmp_path / "x.csv").exists()


def test_reconstruct_report_that_is_a_file_is_refused_before_writing(tmp_path, capsys):
    (tmp_path / "report.txt").write_text("")
    code, _, err = run(
        [
            "reconstruct",
            "--curve",
            KM / "curve.csv",
            "--at-risk",
            KM / "at_risk.csv",
            "--out",
            tmp_path / "ipd.csv",
            "--report",
            tmp_path / "report.txt",
        ],
        capsys,
    )
    one_line(code, err, "--report", "report.txt", "is a file, not a folder")
    assert not (tmp_path / "ipd.csv").exists()


# ---- 2 and 9. schedulers: timeouts, the address in the error, no empty address ------------------
class _Server:
    """A TCP server on localhost that accepts and then stays silent, or answers as HTTP."""

    def __init__(self, http: bool):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.http, self.conns = http, []
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.http:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("http", [False, True], ids=["silent", "http"])
def test_a_scheduler_that_does_not_answer_fails_in_seconds(http, monkeypatch, capsys):
    import walkback.montecarlo.scheduler as sch

    monkeypatch.setattr(sch, "TIMEOUT", 2.0)
    server = _Server(http)
    try:
        t0 = time.perf_counter()
        code, out, err = run(
            ["montecarlo", "--replicates", 64, "--seed", 1, "--scheduler", server.address], capsys
        )
        elapsed = time.perf_counter() - t0
    finally:
        server.close()
    one_line(code, err, server.address)
    assert ("no answer within 2 s" in err) if not http else ("Dask's protocol" in err)
    assert elapsed < 15 and out == ""


def test_an_empty_scheduler_address_is_an_error(capsys):
    code, out, err = run(["montecarlo", "--replicates", 64, "--seed", 1, "--scheduler", ""], capsys)
    one_line(code, err, "--scheduler", "empty")
    assert out == ""


# ---- 5. time scales ------------------------------------------------------------------------------
def _twin_trial(scale: float) -> TrialData:
    frame = pd.read_csv(TWIN)
    frame["activity_limiting_days"] = frame["activity_limiting_days"] * scale
    return TrialData.from_frame(
        frame,
        time_col="activity_limiting_days",
        event_col="activity_limiting_event",
        arm_col="arm",
        treatment="intervention",
        control="control",
    )


@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0**-40])
def test_rmst_and_its_se_survive_extreme_time_scales(scale):
    # filterwarnings = error: a RuntimeWarning (overflow, underflow) fails this test
    days = analyze(_twin_trial(1.0), times=[180], tau=365).to_dict()
    far = analyze(_twin_trial(scale), times=[180 * scale], tau=365 * scale).to_dict()
    for key in ("treatment", "control", "difference", "se", "lower", "upper"):
        assert far["rmst"][key] == pytest.approx(days["rmst"][key] * scale, rel=1e-9), key
    assert far["rmst"]["se"] > 0
    assert far["hazard_ratio"]["estimate"] == pytest.approx(days["hazard_ratio"]["estimate"])


# ---- 6. one clear line for each -----------------------------------------------------------------
def test_all_events_at_time_zero(tmp_path, capsys):
    frame = pd.read_csv(TWIN)
    frame["activity_limiting_days"] = 0
    frame.to_csv(tmp_path / "zero.csv", index=False)
    code, _, err = run(["analyze", tmp_path / "zero.csv", *AL, "--tau", "1"], capsys)
    one_line(code, err, "all 701 times are 0", "activity_limiting_days")
    assert "Singular" not in err


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["analyze", TWIN, *AL, "--alpha", "1e-300"], ["--alpha", "at least 1e-12"]),
        (["montecarlo", "--replicates", "-1", "--seed", "1"], [">= 1", "'-1'"]),
        (["montecarlo", "--replicates", "0", "--seed", "1"], [">= 1", "'0'"]),
    ],
)
def test_option_values_out_of_range(argv, fragments, capsys):
    code, out, err = run(argv, capsys)
    one_line(code, err, *fragments)
    assert ">= 0" not in err


def test_a_one_megabyte_cell_is_read_and_shown_short(tmp_path, capsys):
    frame = pd.read_csv(TWIN)
    frame["arm"] = frame["arm"].astype(object)
    frame.loc[3, "arm"] = "x" * 1_000_000
    frame.to_csv(tmp_path / "big_cell.csv", index=False)
    code, _, err = run(["analyze", tmp_path / "big_cell.csv", *AL], capsys)
    one_line(code, err, "line 5", "1,000,000 characters", "--other-arms drop")
    assert "quoting" not in err and len(err) < 1000


def test_output_path_errors_name_the_path(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    bad = tmp_path / "afile" / "reps.csv"
    code, _, err = run(["montecarlo", "--replicates", 64, "--seed", 1, "--out", bad], capsys)
    one_line(code, err, str(bad), "is a file, not a folder")
    assert "Errno" not in err


def test_numbers_in_messages_are_plain():
    assert shown_value(np.float64(2.5)) == "2.5"
    assert "np." not in str(DataError("bad", value=np.int64(7)))
    assert shown_value("y" * 500).endswith("(500 characters)")


def test_a_closed_pipe_ends_quietly(tmp_path):
    # the reader (`true`) is gone before walkback writes, as `| head` once it has its lines
    err = tmp_path / "stderr.txt"
    cmd = f"{sys.executable} -m walkback analyze {TWIN} {' '.join(AL)} --json 2>{err} | true"
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], cwd=ROOT)
    assert err.read_text() == ""  # no "[Errno 32] Broken pipe", no traceback
    assert proc.returncode == 141  # 128 + SIGPIPE, as a program stopped by the signal


# ---- 7. spec nesting ---------------------------------------------------------------------------
def test_a_deeply_nested_spec_is_one_line(tmp_path, capsys):
    spec = tmp_path / "deep.toml"
    spec.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = run(["calibrate", "--spec", spec], capsys)
    one_line(code, err, "deep.toml", "nested more than 16 levels")


# ---- 9. follow-up warnings, time ranges ---------------------------------------------------------
def test_tau_and_landmarks_beyond_follow_up_are_warned(capsys):
    argv = ["analyze", TWIN, *AL, "--tau", "5000", "--times", "90,4000"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "Warning: RMST tau 5000 days lies beyond the last follow-up of arm" in out
    assert "Warning: survival at 4000 days lies beyond" in out
    code, out, _ = run([*argv, "--json"], capsys)
    warnings = json.loads(out)["warnings"]
    assert len(warnings) == 2 and "5000" in warnings[0]
    code, out, _ = run(["analyze", TWIN, *AL, "--tau", "365", "--json"], capsys)
    assert "warnings" not in json.loads(out)


def test_curve_and_at_risk_in_other_units_are_refused(tmp_path, capsys):
    curve = pd.read_csv(KM / "curve.csv")
    curve["time"] = curve["time"] / 30.44  # months, with an at-risk table in days
    curve.to_csv(tmp_path / "curve_months.csv", index=False)
    code, _, err = run(
        [
            "reconstruct",
            "--curve",
            tmp_path / "curve_months.csv",
            "--at-risk",
            KM / "at_risk.csv",
            "--out",
            tmp_path / "ipd.csv",
        ],
        capsys,
    )
    one_line(code, err, "cover different time ranges", "same time units")
    assert not (tmp_path / "ipd.csv").exists()


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_text_output_at_extreme_scales_is_plain(scale, tmp_path, capsys):
    frame = pd.read_csv(TWIN)
    frame["activity_limiting_days"] = frame["activity_limiting_days"] * scale
    frame.to_csv(tmp_path / "scaled.csv", index=False)
    code, out, err = run(["analyze", tmp_path / "scaled.csv", *AL], capsys)
    assert code == 0 and err == ""
    rmst = next(line for line in out.splitlines() if line.startswith("RMST to"))
    assert max(len(w) for w in rmst.split()) < 16, rmst  # 3.9022e+302, not 300 digits
    assert "0.0 (0.0)" not in rmst

"""`--plan`: the work and cost of a profile, from counts and measured throughputs (pdlib.plan)."""
import pytest

from pdlib import plan, runner


def test_flops_follow_the_hand_worked_count():
    # MiniLM-L6: 6 layers × 12 · 384² = 10.6 M non-embedding parameters; 2·N·T a forward, 6·N·T a training step
    fwd = plan.Work("02", "x", "cross-encoder/ms-marco-MiniLM-L-6-v2", items=10, tokens=100, kind="forward")
    assert fwd.flops == pytest.approx(2 * 10.6e6 * 10 * 100)
    step = plan.Work("04", "x", "bert-base-uncased", items=5, tokens=1000, kind="train", runs=3)
    assert step.flops == pytest.approx(6 * 85.0e6 * 5 * 1000 * 3)
    with pytest.raises(Exception, match="MODEL_PARAMS"):
        plan.params("someone/unknown-model")


def test_long_t5_jobs_are_timed_at_the_compiled_rate_on_a_gpu():
    """pdlib.jobs compiles a T5 teacher for a job of config.COMPILE_FROM inputs or more; the plan times such a job
    at the measured compiled rate on the GPU, a shorter one at the eager rate, and the CPU never compiles."""
    gpu, cpu = plan.THROUGHPUT["h100"], plan.THROUGHPUT["cpu"]
    n = plan.config.COMPILE_FROM
    long = plan.Work("03", "x", "castorini/duot5-3b-msmarco", items=n, tokens=142, kind="forward")
    short = plan.Work("03", "x", "castorini/duot5-3b-msmarco", items=n - 1, tokens=142, kind="forward")
    assert long.seconds(gpu) == pytest.approx(long.flops / gpu["forward_t5_compiled"])
    assert short.seconds(gpu) == pytest.approx(short.flops / gpu["forward_t5"])
    assert long.seconds(gpu) < short.seconds(gpu)  # the compiled path is the faster one
    assert long.seconds(cpu) == pytest.approx(long.flops / cpu["forward_t5"])
    bert = plan.Work("02", "x", "cross-encoder/ms-marco-MiniLM-L-6-v2", items=n, tokens=142, kind="forward")
    assert bert.seconds(gpu) == pytest.approx(bert.flops / gpu["forward"])


def test_sizes_come_from_metadata_without_downloading(session_data):
    assert plan.sizes("beir/scifact/test") == (5183, 300)
    assert plan.sizes("msmarco-passage/dev/small") == (8841823, 6980)
    docs, n = plan.sizes("pdlib-split/0/0.125/train/beir/scifact/train")  # a seeded eighth of 809 queries
    assert docs == 5183 and n == round(809 * 0.125)
    assert plan.sizes("synthetic/smoke/dev")[1] == 40


def test_small_is_sized_for_a_laptop_and_medium_is_not(session_data):
    work = plan.profile_work("small")
    cpu = sum(w.flops / plan.THROUGHPUT["cpu"][w.rate_kind] for w in work)
    assert cpu < 65 * 60  # the 2-core machine's estimate (07_beyond: about 23 min of it); a 4-core laptop takes about half
    assert {w.notebook for w in work} == set(plan.config.NOTEBOOKS)
    medium = sum(w.flops / plan.THROUGHPUT["cpu"][w.rate_kind] for w in plan.profile_work("medium"))
    assert medium > 24 * 3600  # the old `small`: days on a CPU


def test_a_corpus_is_counted_once_per_model_and_length(session_data):
    work = plan.profile_work("paper")
    msmarco = [w for w in work if "msmarco-passage" in w.what]
    # 01 indexes MS MARCO with the initial retriever, 04 with each student, both at 180 tokens; 05's MS MARCO dev,
    # DL19 and DL20 reuse those indexes: nothing of MS MARCO is encoded in 05
    assert msmarco and not [w for w in msmarco if w.notebook == "05_eval_beir"]
    scifact = [w for w in work if w.notebook == "05_eval_beir" and "beir/scifact" in w.what]
    assert len(scifact) == 2 and all(w.tokens == 300 for w in scifact)  # initial + PairDistill, B.3's 300 tokens


def test_run_all_plan_prints_and_runs_nothing(fresh_data, capsys):
    assert runner.main(["--plan", "--profile", "small", "--only", "02,03"]) == 0
    out = capsys.readouterr().out
    assert "02_pointwise:" in out and "03_pairwise:" in out and "01_retrieve:" not in out and "total:" in out
    assert "castorini/duot5-base-msmarco" in out and "H100" in out
    assert not (fresh_data / "executed").exists()


def test_the_plan_reads_the_same_in_every_process(session_data):
    """04's training runs are grouped from a set of run configurations, whose order follows Python's string
    hashing, which differs between processes: the plan must not (it is compared and quoted)."""
    import os
    import subprocess
    import sys

    code = "from pdlib import plan; print(plan.report('smoke', notebooks=['04_distill']))"
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")]
    assert outs[0].count("training run(s) from") == 2 and outs[0] == outs[1] == outs[2]

from app.llm.policy import BackendView, ewma, plan

GPU = BackendView("gpu", "gpu")
CPU = BackendView("cpu", "cpu")
ESC = BackendView("big", "escalation")


def test_short_goes_to_cpu_long_to_gpu():
    assert plan([GPU, CPU], "short") == ["cpu", "gpu"]
    assert plan([GPU, CPU], "medium") == ["gpu", "cpu"]
    assert plan([GPU, CPU], "complex") == ["gpu", "cpu"]


def test_complex_escalates_when_configured():
    assert plan([GPU, CPU, ESC], "complex") == ["big", "gpu", "cpu"]
    assert plan([GPU, CPU, ESC], "medium")[0] == "gpu"


def test_unhealthy_and_open_circuits_are_skipped():
    down = BackendView("cpu", "cpu", healthy=False)
    tripped = BackendView("gpu", "gpu", available=False)
    assert plan([GPU, down], "short") == ["gpu"]
    assert plan([tripped, CPU], "medium") == ["cpu"]
    assert plan([tripped, down], "short") == []


def test_short_goes_to_gpu_when_measured_faster():
    cpu = BackendView("cpu", "cpu", ttft_ewma_s={"short": 0.50})
    gpu = BackendView("gpu", "gpu", ttft_ewma_s={"short": 0.05})
    assert plan([gpu, cpu], "short") == ["gpu", "cpu"]
    close = BackendView("gpu", "gpu", ttft_ewma_s={"short": 0.45})
    assert plan([close, cpu], "short") == ["cpu", "gpu"]


def test_ewma():
    assert ewma(None, 1.0) == 1.0
    assert abs(ewma(1.0, 0.0, alpha=0.25) - 0.75) < 1e-9


def test_gpu_never_tried_on_short_is_judged_by_its_other_classes():
    cpu = BackendView("cpu", "cpu", ttft_ewma_s={"short": 0.30})
    gpu = BackendView("gpu", "gpu", ttft_ewma_s={"medium": 0.04, "complex": 0.06})
    assert plan([gpu, cpu], "short") == ["gpu", "cpu"]
    unmeasured = BackendView("gpu", "gpu")
    assert plan([unmeasured, cpu], "short") == ["cpu", "gpu"]

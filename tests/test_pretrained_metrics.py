"""Every pretrained generator weight (bundled, or from hub-repos/ through the Hub stand-in) still scores what its
metadata records (10k samples vs the test split, as the zoo measures), so the fp16 export and later code changes are
checked against the numbers the docs quote."""

import pytest

import imggen
from imggen.metrics import evaluate
from imggen.registry import model_info

ABSOLUTE = {"precision": 0.02, "recall": 0.02, "coverage": 0.02, "cond_acc": 0.01, "class_coverage": 0.0}
FD_RELATIVE = 0.05


def recorded(name: str) -> tuple[dict[str, float], str]:
    arch, _, tag = name.partition(".")
    weight = next(w for w in model_info(arch)["pretrained"] if w["tag"] == tag)
    return weight["metrics"], weight["meta"]["data"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(imggen.list_models(pretrained=True))
                                         - set(imggen.list_models("*-x[0-9]", pretrained=True))))  # SR: test_sr.py
def test_bundled_weight_scores_its_recorded_metrics(name, data_dir, zoo_hub):  # zoo_hub: tags not bundled
    metrics, data = recorded(name)
    wanted = [m for m in ("fd", *ABSOLUTE) if m in metrics]
    measured = evaluate(imggen.create_model(name, pretrained=True), n=10000, metrics=wanted,
                        reference=f"{data}:test", seed=0)
    assert measured["fd"] == pytest.approx(metrics["fd"], rel=FD_RELATIVE)
    for metric in wanted[1:]:
        assert measured[metric] == pytest.approx(metrics[metric], abs=ABSOLUTE[metric]), metric

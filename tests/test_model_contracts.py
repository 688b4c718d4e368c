"""What models declare instead of being probed: their abilities, what they need prepared (held outside their
weights), the training-term sums the divergence guard reads, and the picture helpers' first rows of a stream."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.core.batches import first_rows
from genlab.core.data import DataInfo
from genlab.core.errors import CheckpointError
from genlab.core.saved import constructor_args
from genlab.core.schema import EvalConfig
from lightning_modules import MODELS
from lightning_modules.base import Ability, GenerativeModule, Need, TermSums
from lightning_modules.cyclegan import CycleGAN
from lightning_modules.gan import GAN
from lightning_modules.schemas import CycleGANConfig, GANConfig

DIGITS = DataInfo((1, 28, 28), (-1.0, 1.0), num_classes=10)


@pytest.mark.parametrize("name, abilities", [
    ("autoencoder", {Ability.ENCODE}), ("vae", {Ability.GENERATE, Ability.ENCODE}), ("gan", {Ability.GENERATE}),
    ("cyclegan", {Ability.TRANSLATE})])
def test_each_model_declares_what_it_can_do_and_has_the_methods_it_declares(name, abilities):
    model = MODELS[name]
    assert model.abilities == abilities
    methods = {Ability.GENERATE: ("generate",), Ability.ENCODE: ("encode", "decode"),
               Ability.TRANSLATE: ("translator",)}
    for ability in Ability:
        assert all(callable(getattr(model, m, None)) for m in methods[ability]) == (ability in abilities)


def test_the_gan_needs_the_classifier_for_digits_only_and_keeps_it_out_of_its_weights():
    gan = GAN(GANConfig(arch="mlp", g_hidden=[8], d_hidden=[8], latent_dim=2), DIGITS)
    assert gan.needs() == {Need.CLASSIFIER} and gan.prepared.classifier is None
    before = set(gan.state_dict())
    gan.prepared.classifier = torch.nn.Linear(3, 3)
    # not a weight of the GAN: no state_dict key, no child module (DDP and .to() walk the children)
    assert set(gan.state_dict()) == before and all(m is not gan.prepared.classifier for m in gan.modules())
    colour = GAN(GANConfig(ngf=8, ndf=8), DataInfo((3, 32, 32), (-1.0, 1.0)))
    assert colour.needs() == frozenset() and GenerativeModule.abilities == frozenset()


def test_a_model_with_no_classifier_prepared_says_how_to_prepare_it():
    gan = GAN(GANConfig(arch="mlp", g_hidden=[8], d_hidden=[8], latent_dim=2), DIGITS)
    with pytest.raises(RuntimeError, match="prepare"):
        gan._sample_metrics("val")


def test_term_sums_add_per_key_give_means_and_reset():
    terms = TermSums()
    for value in (1.0, torch.tensor(3.0)):
        terms.add("train/loss", value)
    terms.add("train/kl", 4.0)
    assert terms.sums == {"train/loss": 4.0, "train/kl": 4.0} and terms.counts == {"train/loss": 2, "train/kl": 1}
    assert terms.means() == {"train/loss": 2.0, "train/kl": 4.0}
    terms.add("train/kl", float("nan"))  # one bad batch leaves its sum non-finite: what the guard reads
    assert math.isnan(terms.sums["train/kl"])
    terms.reset()
    assert terms.sums == {} and terms.counts == {} and terms.means() == {}


def test_load_from_checkpoint_names_the_model_from_its_schema(tmp_path):
    """The name ``Model.load_from_checkpoint`` expects is the schema's ``name`` default, no table lookup."""
    cyclegan = CycleGAN(CycleGANConfig(ngf=8, ndf=8, n_blocks=1), DataInfo((3, 32, 32), (-1.0, 1.0)))
    ckpt = tmp_path / "gan.ckpt"
    torch.save({"genlab": {"config": {"model": {"name": "gan"}, "data": {"name": "mnist"}},
                           "data_info": {"image_shape": [1, 28, 28], "value_range": [-1, 1], "num_classes": 10}}},
               ckpt)
    with pytest.raises(CheckpointError, match="holds a 'gan' model, not a CycleGAN"):
        CycleGAN.load_from_checkpoint(ckpt)
    assert constructor_args(ckpt, GANConfig, GANConfig.name, EvalConfig)["cfg"] == GANConfig()
    assert cyclegan.translator("AtoB") is cyclegan.G_A and cyclegan.translator("BtoA") is cyclegan.G_B


def test_first_rows_counts_each_part_apart_and_reads_no_further_than_needed():
    read = []

    def stream():
        for i in range(10):
            read.append(i)
            yield torch.full((3, 2), i), torch.arange(i % 2 + 1)  # parts of 3 rows and of 1 or 2 rows

    images, labels = first_rows(stream(), 4)
    assert images.shape == (4, 2) and images[:, 0].tolist() == [0, 0, 0, 1]
    assert labels.tolist() == [0, 0, 1, 0] and read == [0, 1, 2]
    short = first_rows([(torch.ones(2, 1),)], 5)  # a stream that ends first gives what it has
    assert short[0].shape == (2, 1)

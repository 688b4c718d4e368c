"""``--help`` explains every key: its value, type, default and a one-line description from the schema, grouped,
wrapped to the terminal; ``--help GROUP`` shows one group; Trainer keys link to Lightning's documentation."""

from __future__ import annotations

import pytest

from genlab.core.errors import ConfigError
from genlab.runner.config import registry
from genlab.runner.config.groups import FIXED_GROUPS, GROUPS, TopLevelConfig
from genlab.runner.config.help import NO_HELP, Key, describe, key_line, schema_keys
from genlab.runner.config.trainer_args import TRAINER_DOCS

SCHEMAS = {"top": TopLevelConfig, **FIXED_GROUPS, **{f"model[{n}]": s for n, s in registry.schemas("model").items()},
           **{f"data[{n}]": s for n, s in registry.schemas("data").items()}}


@pytest.mark.parametrize("label", SCHEMAS)
def test_every_key_of_every_schema_has_a_one_line_description(label):
    keys = schema_keys(SCHEMAS[label], "")
    assert keys
    missing = [k.name for k in keys if k.help == NO_HELP or not k.help.strip() or "\n" in k.help]
    assert not missing, f"{label}: keys without a one-line description: {missing}"


def test_trainer_keys_link_to_lightnings_own_documentation():
    keys = {k.name: k.help for k in schema_keys(FIXED_GROUPS["trainer"], "trainer.")}
    assert keys["trainer.max_epochs"].endswith(f"{TRAINER_DOCS}#max-epochs")
    assert keys["trainer.accumulate_grad_batches"].endswith("#accumulate-grad-batches")
    assert all(TRAINER_DOCS in h for h in keys.values())


def test_a_key_line_shows_value_type_default_and_description_wrapped_without_splitting_key_value():
    key = Key("data.value_range", [-1.0, 1.0], "list[float]", [0.0, 1.0], "pixel range: [0, 1], or [-1, 1] for "
              "tanh generators, and more words that make the line longer than the width")
    text = key_line(key, 60)
    first, *rest = text.splitlines()
    assert first.startswith("  data.value_range=[-1.0, 1.0] (list[float], default [0.0, 1.0]):")
    assert rest and all(line.startswith("      ") and len(line) <= 60 for line in rest)
    same = key_line(Key("seed", 42, "int", 42, "seed"), 60)
    assert same == "  seed=42 (int): seed"  # no default shown where the value is the default


def test_help_wraps_to_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    lines = describe([]).splitlines()
    too_long = [line for line in lines if len(line) > 72 and TRAINER_DOCS not in line]
    assert not too_long, too_long[:3]


def test_help_of_one_group_shows_that_group_only():
    text = describe(["model"])
    assert "model.latent_dim=32 (int): numbers in the code of an image" in text  # the autoencoder's schema
    assert "model.beta=1.0 (float): weight of the KL term in the training loss" in text  # the VAE's
    assert not any(f"{g}." in text for g in GROUPS if g != "model") and "experiments:" not in text


def test_help_of_an_experiments_group_shows_its_values_and_their_defaults():
    text = describe(["experiment=gan_mnist", "model.ngf=8", "trainer"])
    assert "trainer.max_epochs=12 (int | None, default None):" in text and "model." not in text
    model = describe(["experiment=gan_mnist", "model.ngf=8", "model"])
    assert "model.ngf=8 (int, default 64): dcgan: generator width" in model


def test_an_unknown_group_is_one_config_error():
    with pytest.raises(ConfigError, match="--help modle: not a config group; groups: top, data, model"):
        describe(["modle"])


@pytest.mark.parametrize("kind", ["model", "data"])
def test_each_class_uses_the_schema_its_table_names_for_it(kind):
    """Help and config checks read the schemas from the tables without importing the classes; the classes (imported
    here) must use exactly those schemas."""
    table = registry.registry(kind)
    assert {name: table[name].Config for name in table} == registry.schemas(kind)


def test_the_schemas_choices_are_the_names_the_networks_build():
    from lightning_modules import schemas
    from lightning_modules.nets.mlp import ACTIVATIONS

    assert tuple(ACTIVATIONS) == schemas.ACTIVATIONS

"""Train the MNIST classifier behind genlab's FID/KID/IS, or report the cached one:
``scripts/train_classifier.py [key=value ...] [cache_dir=PATH]``.

Keys are those of ``genlab.core.schema.ClassifierConfig`` (channels, num_features, dropout, epochs,
batch_size, lr, train_size, seed). The checkpoint goes to ``<cache_dir>/mnist_classifier-<config hash>.pt``
(cache_dir: $GENLAB_CACHE_DIR or ~/.cache/genlab); use it with ``eval.classifier_ckpt=PATH``. With no keys it
is the default classifier that GAN evaluation trains on first use.
"""

import sys

from genlab.metrics.mnist_classifier import load_classifier
from genlab.runner.cli import pop_arg, run_cli
from genlab.runner.run.classifier import ensure_classifier, parse_config


def main(args: list[str]) -> None:
    cache_dir, args = pop_arg(args, "cache_dir")
    path = ensure_classifier(parse_config(args), cache_dir)
    _, info = load_classifier(path)
    print(f"classifier: {path}\ntest accuracy: {info['test_accuracy']:.4f}")


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))

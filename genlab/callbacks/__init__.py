"""Lightning callbacks that an experiment lists by name under ``callbacks.images``.

Each picture callback is built as ``Callback(cfg.callbacks)`` and draws from the model's public methods
(documented on each class), never from a particular model class.
"""

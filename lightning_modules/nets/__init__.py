"""Plain torch networks (encoders, decoders, generators, discriminators); no Lightning imports here."""

"""tickwork actors: the Pykka scheduling runtime."""

"""Hostile binary inputs for the corpus of tests/bad_specs/, made when a case is copied
(``# make: NAME``) rather than committed. Each function writes one file at ``path``."""

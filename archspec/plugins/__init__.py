"""archspec's own plugins, loaded through its ``archspec.layers`` entry points like any
other package's (pyproject.toml): custom layers of keras.applications and archspec's own
Keras layers. The registration modules import no Keras; ``layers`` holds the classes."""

"""The language server (``archspec lsp``)."""

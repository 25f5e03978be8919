"""portside: from a frontend + backend repository to a live nginx gateway on one Linux server."""

__version__ = "0.1.0"

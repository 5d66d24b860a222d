"""The library's version (written into saved files), at the bottom so any level may read it."""
__version__ = "0.1.0"

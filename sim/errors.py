"""Errors of the simulated PBX."""


class SimError(Exception):
    """Base of sim/ errors."""


class ConfigError(SimError):
    """A dialplan or manager.conf the sim cannot use; the message names file and line."""

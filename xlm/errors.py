"""Exceptions with messages meant for people: the CLI prints them on one line, the app shows them as-is."""


class XLMError(Exception):
    """Base class of every error this library raises on purpose."""


class ModelNotFoundError(XLMError, OSError):
    """A local path or Hub id that cannot be found or reached."""


class ModelTypeError(XLMError, ValueError):
    """A checkpoint of a model type this library does not load (bert, ...), or of another family than the class
    asked to load it."""


class CorruptCheckpointError(XLMError, ValueError):
    """A config or weight file that cannot be read, or weights that do not fit the config."""


class InvalidConfigError(XLMError, ValueError):
    """A configuration value that cannot work."""


class UnknownLanguageError(XLMError, ValueError):
    """A language code the model or tokenizer does not know."""


class MissingDependencyError(XLMError, ImportError):
    """An optional dependency (PyThaiNLP, KyTea, rjieba, ...) is needed but not installed."""


class InputError(XLMError, ValueError):
    """Input a task cannot work with: empty text, no mask token, text too long, ..."""

"""Serving backends behind one seam: text streamed for (messages, options, adapter, cancel).

`open_backend` picks one from the `serving` setting: the local transformers model (in one of
its CPU serving forms) or an OpenAI-compatible server.
"""

from assistant.backends.choose import open_backend
from assistant.backends.seam import Adapter, Backend, adapter_of

__all__ = ["Adapter", "Backend", "adapter_of", "open_backend"]

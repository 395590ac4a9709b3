"""The composition root: settings reach the parts they configure."""

from assistant.app import open_knowledge_base
from assistant.settings import load_settings


def test_knowledge_base_embeds_on_the_configured_device(monkeypatch):
    monkeypatch.setenv("DESKLOOP_DEVICE", "mps")
    assert open_knowledge_base(load_settings()).settings.device == "mps"


def test_auto_device_embeds_on_a_visible_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert open_knowledge_base(load_settings()).settings.device == "cuda"

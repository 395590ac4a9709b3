"""The lean Llama runner: the tokens of transformers' generate, a cache kept between answers."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from assistant import lean_llama, mapped_pages
from assistant.lean_llama import LeanLlama
from assistant.serving_form import BuildSuperseded, fp16_weight_copy, fp16_weights_supported
from assistant.settings import GenerationSettings

pytestmark = pytest.mark.skipif(not fp16_weights_supported(), reason="needs fbgemm (x86 CPU)")


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return model, tokenizer, fp16_weight_copy(model)


def prompt_ids(tokenizer, question: str) -> list[int]:
    messages = [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": question},
    ]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)[
        "input_ids"
    ]


def reference(copy, prompt: list[int], options: GenerationSettings, eos: int | None) -> list[int]:
    """What transformers' generate gives on the fp16-weight module copy."""
    kwargs = dict(
        max_new_tokens=options.max_new_tokens,
        repetition_penalty=options.repetition_penalty,
        eos_token_id=eos,
        pad_token_id=0,
    )
    if options.no_repeat_ngram_size:
        kwargs["no_repeat_ngram_size"] = options.no_repeat_ngram_size
    if options.temperature > 0:
        kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    torch.manual_seed(options.seed)
    with torch.inference_mode():
        out = copy.generate(torch.tensor([prompt]), **kwargs)
    return out[0, len(prompt) :].tolist()


def lean_tokens(lean, prompt, options, eos, stop_after: int | None = None) -> list[int]:
    seen: list[int] = []
    torch.manual_seed(options.seed)
    with torch.inference_mode():
        produced = lean.generate(
            prompt,
            options,
            eos_token_id=eos,
            on_token=seen.append,
            should_stop=lambda: stop_after is not None and len(seen) >= stop_after,
        )
    assert produced == seen
    return produced


OPTIONS = [
    GenerationSettings(max_new_tokens=40, temperature=0.0, repetition_penalty=1.0),
    GenerationSettings(max_new_tokens=40, temperature=0.0, repetition_penalty=1.3),
    GenerationSettings(max_new_tokens=40, temperature=0.0, no_repeat_ngram_size=2),
    GenerationSettings(max_new_tokens=40, temperature=0.8, top_p=0.9, seed=3),
]


@pytest.mark.parametrize("options", OPTIONS, ids=["greedy", "penalty", "ngram", "sampled"])
def test_tokens_equal_generate_on_the_same_weights(loaded, options):
    model, tokenizer, copy = loaded
    lean = LeanLlama(model)
    prompt = prompt_ids(tokenizer, "How do I reset my password?")
    expected = reference(copy, prompt, options, eos=None)
    assert len(expected) == 40
    assert lean_tokens(lean, prompt, options, eos=None) == expected


def test_a_prompt_that_extends_the_cache_prefills_only_the_new_tokens(loaded, monkeypatch):
    model, tokenizer, copy = loaded
    lean = LeanLlama(model)
    options = OPTIONS[1]
    first = prompt_ids(tokenizer, "How do I reset my password?")
    second = prompt_ids(tokenizer, "Why is my camera offline?")
    lean_tokens(lean, first, options, eos=None)
    shared = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    assert lean.reusable(second) == shared > 5

    prefilled = []
    forward = lean.forward

    def counting(ids, start):
        prefilled.append((start, ids.shape[0]))
        return forward(ids, start)

    monkeypatch.setattr(lean, "forward", counting)
    answer = lean_tokens(lean, second, options, eos=None)
    assert prefilled[0] == (shared, len(second) - shared)
    assert answer == reference(copy, second, options, eos=None)
    # the same prompt again: everything but its last token comes from the cache
    assert lean.reusable(second) == len(second) - 1
    assert lean_tokens(lean, second, options, eos=None) == answer


def test_the_cache_grows_past_its_first_allocation(loaded):
    model, tokenizer, copy = loaded
    lean = LeanLlama(model)
    prompt = prompt_ids(tokenizer, "How do I get a refund?")
    prompt = (prompt * lean_llama.CACHE_STEP)[: lean_llama.CACHE_STEP - 10]
    assert len(prompt) < lean_llama.CACHE_STEP < len(prompt) + 40
    options = OPTIONS[1]
    assert lean_tokens(lean, prompt, options, eos=None) == reference(copy, prompt, options, None)
    assert lean.k_cache.shape[2] == 2 * lean_llama.CACHE_STEP


def test_stops_at_eos_and_when_asked(loaded):
    model, tokenizer, copy = loaded
    lean = LeanLlama(model)
    prompt = prompt_ids(tokenizer, "How do I reset my password?")
    options = OPTIONS[0]
    free = lean_tokens(lean, prompt, options, eos=None)
    eos = free[5]
    until_eos = lean_tokens(lean, prompt, options, eos=eos)
    assert until_eos == free[: free.index(eos) + 1]
    assert until_eos == reference(copy, prompt, options, eos)
    assert lean_tokens(lean, prompt, options, eos=None, stop_after=3) == free[:3]


def test_only_plain_llamas_get_the_lean_runner(loaded):
    model, _, _ = loaded
    assert lean_llama.supports(model)
    config = model.config
    config.attention_bias = True
    try:
        assert not lean_llama.supports(model)
    finally:
        config.attention_bias = False


SMAPS = """\
7f00000000-7f00010000 rw-p 00000000 fe:00 1 /models/a/model.safetensors
Size:                 64 kB
Anonymous:             0 kB
7f00010000-7f00020000 rw-p 00000000 fe:00 2 /models/b/model.safetensors
Size:                 64 kB
Anonymous:             4 kB
7f00020000-7f00030000 rw-p 00000000 00:00 0
Anonymous:             0 kB
"""


def test_only_clean_safetensors_mappings_are_released():
    mappings = mapped_pages.FileMappings(SMAPS)
    assert mappings.ranges == [(0x7F00000000, 0x7F00010000)]
    assert mappings.covering(0x7F00000100, 0x7F00000200)
    assert not mappings.covering(0x7F00010100, 0x7F00010200)  # a page of it was written
    assert not mappings.covering(0x7F0000F000, 0x7F00011000)


def test_released_weights_read_back_unchanged(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    weights = [p for name, p in model.named_parameters() if "proj" in name]
    before = [w.detach().clone() for w in weights]
    mappings = mapped_pages.FileMappings()
    released = mapped_pages.release(weights, mappings)
    if not mappings.ranges:
        pytest.skip("weights are not mapped from the file here")
    assert released > 0
    assert all(torch.equal(w, b) for w, b in zip(weights, before, strict=True))
    plain = torch.zeros(4096)
    assert mapped_pages.release([plain], mappings) == 0  # not file-backed: left alone


def test_a_superseded_build_stops(loaded):
    model, _, _ = loaded
    asked = []

    def superseded() -> bool:
        asked.append(True)
        return len(asked) > 1

    with pytest.raises(BuildSuperseded):
        LeanLlama(model, superseded=superseded)
    assert len(asked) == 2  # checked before each layer


def test_tokens_after_the_prompt_run_on_the_decode_threads(loaded, monkeypatch):
    model, tokenizer, _ = loaded
    lean = LeanLlama(model)
    prompt = prompt_ids(tokenizer, "How do I reset my password?")
    options = OPTIONS[0]
    expected = lean_tokens(lean, prompt, options, eos=None)
    threads_seen = []
    forward = lean.forward

    def recording(ids, start):
        threads_seen.append((ids.shape[0], torch.get_num_threads()))
        return forward(ids, start)

    monkeypatch.setattr(lean, "forward", recording)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        lean.clear_cache()
        torch.manual_seed(options.seed)
        with torch.inference_mode():
            produced = lean.generate(prompt, options, None, lambda _: None, lambda: False, 1)
        assert torch.get_num_threads() == 2  # restored after the answer
    finally:
        torch.set_num_threads(before)
    assert produced == expected  # the thread count does not change the answer
    assert threads_seen[0] == (len(prompt), 2)
    assert {threads for count, threads in threads_seen[1:]} == {1}
    assert all(count == 1 for count, _ in threads_seen[1:])

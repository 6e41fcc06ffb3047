"""An lm-evaluation-harness model over the project's engine layer, so a standard benchmark runs
through the same engine (and the same greedy decoding) as the golden-set evaluation.

- ``generate_until``: the engine's own ``generate_until`` (batched greedy, stop sequences),
  requests grouped by their stop sequences and token budget.
- ``loglikelihood`` / ``loglikelihood_rolling``: for engines that run the model in this process
  and expose it as ``model`` + ``tokenizer`` (the transformers engine): one forward pass per
  batch of (context, continuation) pairs, summing the continuation tokens' log-probabilities.
  Other engines (llama.cpp, a remote server) answer only generation tasks; a likelihood task on
  them is a clear error naming the engine.

Imports lm_eval lazily (the ``bench`` extra).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any


def engine_lm_class():
    """The ``lm_eval`` LM subclass (built on first use: lm_eval is an optional extra)."""
    from lm_eval.api.model import LM

    class EngineLM(LM):
        def __init__(self, engine: Any, batch_size: int = 8):
            super().__init__()
            self.engine = engine
            self.batch_size = batch_size

        # -- generation through the engine
        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            out: list[str | None] = [None] * len(requests)
            groups: dict[tuple, list[int]] = defaultdict(list)
            for i, request in enumerate(requests):
                _, kwargs = request.args
                until = kwargs.get("until") or []
                until = [until] if isinstance(until, str) else list(until)
                groups[(tuple(until), int(kwargs.get("max_gen_toks", 256)))].append(i)
            for (until, max_tokens), indices in groups.items():
                prompts = [requests[i].args[0] for i in indices]
                answers = self.engine.generate_until(prompts, max_new_tokens=max_tokens, stop=list(until),
                                                     batch_size=self.batch_size, share_prefix=False)
                for i, answer in zip(indices, answers, strict=True):
                    out[i] = "" if answer.error else answer.text
            return out

        # -- likelihoods on an in-process model
        def _model(self):
            model, tokenizer = getattr(self.engine, "model", None), getattr(self.engine, "tokenizer", None)
            if model is None or tokenizer is None:
                name = getattr(self.engine, "name", type(self.engine).__name__)
                raise NotImplementedError(
                    f"engine {name!r} cannot score likelihoods (no in-process model): "
                    "use generate_until tasks with it, or the transformers engine")
            return model, tokenizer

        def loglikelihood(self, requests, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
            pairs = [request.args for request in requests]
            return score_continuations(*self._model(), pairs, self.batch_size)

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
            pairs = [("", request.args[0]) for request in requests]
            return [logprob for logprob, _ in score_continuations(*self._model(), pairs, self.batch_size)]

    return EngineLM


def _encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation tokens, split where the whole text's tokens diverge (so a leading
    space of the continuation tokenises as it would in running text)."""
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    head = tokenizer(context, add_special_tokens=False)["input_ids"] if context else []
    if not head:  # an empty context: condition on the beginning-of-sequence token
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        return [bos], whole
    return whole[: len(head)], whole[len(head):]


def score_continuations(model, tokenizer, pairs: Sequence[tuple[str, str]], batch_size: int) -> list[tuple[float, bool]]:
    """(sum of log P(continuation token | everything before), whether greedy decoding gives it)."""
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = [_encode_pair(tokenizer, c, x) for c, x in pairs]
    results: list[tuple[float, bool]] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        rows = [ctx + cont for ctx, cont in chunk]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # right padding: positions stay those of running text
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logprobs = torch.log_softmax(logits, dim=-1).cpu()
        for i, (ctx, cont) in enumerate(chunk):
            positions = range(len(ctx) - 1, len(ctx) + len(cont) - 1)  # the logits that predict cont
            picked = logprobs[i, list(positions)]
            target = torch.tensor(cont)
            total = float(picked.gather(1, target[:, None]).sum())
            greedy = bool((picked.argmax(dim=-1) == target).all())
            results.append((total, greedy))
    return results

#!/usr/bin/env python3
"""The prototype's inference stack, driven the way the prototype drove it: one
``llama_cpp.Llama`` kept loaded, ``create_completion(prompt, stream=True, max_tokens=...,
temperature=...)`` per question, nothing else passed (its own sampler defaults, its own prefix
reuse of the previous prompt's KV cache).

The ``scenarios`` bench runs it as a child in the bench venv (``benches/python/setup.sh``):

    python prototype.py --model models/SmolLM2-135M-Instruct-Q4_1.gguf --threads 2

One JSON object per line each way. Out first: ``{"ready": true, "load_ms", "versions", ...}``.
Then per request line ``{"prompt", "max_tokens", "temperature", "threads"?, "reset"?}`` one
line back:

    {"ttft_ms", "tokens", "tokens_per_s", "total_ms", "prompt_tokens", "reused_tokens",
     "threads", "text"}

timed as our engine times itself: TTFT from the call to the first chunk with text, decode
tokens/s = (tokens - 1) / (last chunk - first chunk). ``reset`` forgets the KV cache first
(a cold prompt); ``threads`` changes the context's threads (``llama_set_n_threads``) before
anything is timed. A failure answers ``{"error": "..."}`` and the loop goes on.
"""

import argparse
import json
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def common_prefix(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    import llama_cpp  # noqa: E402  (timed: the import loads the shared library)

    llm = llama_cpp.Llama(
        model_path=args.model,
        n_ctx=args.n_ctx,
        n_batch=args.n_batch,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=0,
        seed=args.seed,
        verbose=False,
    )
    threads = args.threads
    emit(
        {
            "ready": True,
            "load_ms": (time.perf_counter() - t0) * 1e3,
            "llama_cpp_python": llama_cpp.__version__,
            "python": sys.version.split()[0],
            "system_info": llama_cpp.llama_print_system_info().decode(errors="replace"),
        }
    )

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            want = int(req.get("threads") or threads)
            if want != threads:
                llama_cpp.llama_set_n_threads(llm.ctx, want, want)
                threads = want
            if req.get("reset"):
                llm.reset()
            prompt = req["prompt"]
            prompt_tokens = llm.tokenize(prompt.encode("utf-8"), special=True)
            # What create_completion will keep of the previous prompt's KV cache (its rule).
            reused = common_prefix(llm._input_ids.tolist(), prompt_tokens[:-1])

            started = time.perf_counter()
            first = last = None
            tokens = 0
            text = []
            for chunk in llm.create_completion(
                prompt,
                stream=True,
                max_tokens=int(req["max_tokens"]),
                temperature=float(req["temperature"]),
            ):
                piece = chunk["choices"][0]["text"]
                if not piece:
                    continue
                now = time.perf_counter()
                tokens += 1
                if first is None:
                    first = now
                last = now
                text.append(piece)
            ended = time.perf_counter()
            span = (last - first) if first is not None else 0.0
            emit(
                {
                    "ttft_ms": ((first or ended) - started) * 1e3,
                    "tokens": tokens,
                    "tokens_per_s": (tokens - 1) / span if tokens > 1 and span > 0 else 0.0,
                    "total_ms": (ended - started) * 1e3,
                    "prompt_tokens": len(prompt_tokens),
                    "reused_tokens": reused,
                    "threads": threads,
                    "text": "".join(text),
                }
            )
        except Exception as e:  # one bad request must not end the bench's child
            emit({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()

"""Offline tokenizer: a tiny hand-made `.tiktoken` ranks file, hand-computed counts, and a real server without usage."""

from __future__ import annotations

import base64

import pytest

from brownout.errors import LoadError
from brownout.spec.load import TiktokenTokenizer
from brownout.loadgen import start_load
from brownout.rundata.records import load_records
from brownout.loadgen.responses import Reply
from brownout.loadgen.tokenizer import load_tokenizer, read_ranks
from brownout.loadgen.tokens import TokenCounts, prompt_texts, token_counts

pytestmark = pytest.mark.timeout(60)

MERGES = [b" t", b"he", b"ll", b"hell"]  # ranks 256.. in merge priority order


def _write_ranks(path, merges=MERGES, singles=range(256)):
    tokens = [bytes([b]) for b in singles] + list(merges)
    path.write_bytes(b"".join(base64.b64encode(t) + b" %d\n" % rank for rank, t in enumerate(tokens)))
    return path


@pytest.fixture
def counter(tmp_path):
    _write_ranks(tmp_path / "tiny.tiktoken")
    return load_tokenizer(TiktokenTokenizer(kind="tiktoken", encoding_file="tiny.tiktoken"), tmp_path)


@pytest.mark.parametrize("text, expected", [
    ("hello", 2),          # h e l l o -> he l l o -> he ll o -> hell o ("hello" has no rank)
    (" hello", 3),         # the space stays apart: ' h' has no rank
    ("t0 t1 t2 ", 7),      # t | 0 | ' t' | 1 | ' t' | 2 | ' '  (cl100k splits letters from digits)
    ("tok tok tok ", 10),  # t o k | ' t' o k | ' t' o k | ' '
    ("é", 2),              # two UTF-8 bytes, no merge
    ("", 0),
])
def test_counts_match_hand_computed_bpe(counter, text, expected):
    assert counter.count(text) == expected


def test_pattern_choice_changes_the_split(tmp_path):
    _write_ranks(tmp_path / "t.tiktoken", merges=[*MERGES, b"34"])
    counts = {
        pattern: load_tokenizer(TiktokenTokenizer(kind="tiktoken", encoding_file="t.tiktoken", pattern=pattern), tmp_path).count("1234")
        for pattern in ("cl100k", "r50k")
    }
    assert counts == {"cl100k": 4, "r50k": 3}  # cl100k splits digits in threes: 1 2 3 | 4; r50k: 1 2 34


def test_bad_ranks_files_are_clear_load_errors(tmp_path):
    with pytest.raises(LoadError, match=r"tokenizer file .*missing\.tiktoken: No such file"):
        load_tokenizer(TiktokenTokenizer(kind="tiktoken", encoding_file="missing.tiktoken"), tmp_path)
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(_write_ranks(tmp_path / "ok.tiktoken").read_bytes() + b"not-base64!! 9\n")
    with pytest.raises(LoadError, match=r"bad\.tiktoken:261: expected 'BASE64_TOKEN RANK'"):
        read_ranks(bad)
    with pytest.raises(LoadError, match="56 single bytes have no rank"):
        read_ranks(_write_ranks(tmp_path / "short.tiktoken", singles=range(200)))
    with pytest.raises(LoadError, match="share a rank"):
        dup = _write_ranks(tmp_path / "dup.tiktoken")
        dup.write_bytes(dup.read_bytes() + base64.b64encode(b"xy") + b" 5\n")
        read_ranks(dup)


def test_one_source_per_request(counter):
    streamed = Reply(streamed=True, done=True, content_events=3, answer=["t0 ", "t1 ", "t2 "])
    prompt = prompt_texts("chat", {"messages": [{"role": "user", "content": "hello"}, {"role": "user", "content": " hello"}]})
    assert token_counts("chat", streamed, prompt, counter) == TokenCounts(5, 7, "tokenizer")
    assert token_counts("chat", streamed, prompt, None) == TokenCounts(None, 3, "chunks")
    with_usage = Reply(streamed=True, done=True, content_events=3, content_bytes=9, input_tokens=9, output_tokens=4,
                       answer=["t0 ", "t1 ", "t2 "])
    assert token_counts("chat", with_usage, prompt, counter) == TokenCounts(9, 4, "usage")
    body = Reply(streamed=False, done=True, content_events=1, answer=["tok tok tok "])
    assert token_counts("completions", body, prompt_texts("completions", {"prompt": "hello"}), counter) == TokenCounts(2, 10, "tokenizer")
    assert token_counts("embeddings", Reply(streamed=False), prompt_texts("embeddings", {"input": "hello"}), counter) == TokenCounts(2, None, "tokenizer")
    assert token_counts("rag", Reply(streamed=False), prompt_texts("rag", {"question": "hello"}), counter) == TokenCounts(None, None, "none")


@pytest.mark.parametrize("request_kind, stream, output", [("chat", True, 7), ("completions", False, 10)])
def test_server_without_usage_is_counted_by_the_tokenizer(fake_server, make_plan, tmp_path, request_kind, stream, output):
    _write_ranks(tmp_path / "tiny.tiktoken")
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "hello hello", "max_tokens": 3}\n')
    load = {"request": request_kind, "stream": stream, "arrival": {"kind": "constant", "rate": "4/s"},
            "dataset": {"kind": "jsonl", "path": "prompts.jsonl"},
            "tokenizer": {"kind": "tiktoken", "encoding_file": "tiny.tiktoken"}}
    plan = make_plan(fake_server.url, load, headers={"x-fake-modes": "ok,nousage"})
    run = start_load(plan)
    try:
        assert run.wait(30) == 0, run.log_tail()
    finally:
        run.stop()
    rows = {r.request_id: r for r in load_records(run.record_paths()).itertuples()}
    assert sorted(rows) == ["w0-0", "w0-1", "w0-2", "w0-3"]
    for k, rec in enumerate(rows[f"w0-{i}"] for i in range(4)):
        assert rec.outcome == "ok"
        if k % 2:  # no usage: "hello hello" is 2 + 3 tokens; "t0 t1 t2 " 7 and "tok tok tok " 10 (see above)
            assert (rec.token_source, rec.input_tokens, rec.output_tokens) == ("tokenizer", 5, output)
        else:      # the server's usage wins over the tokenizer
            assert (rec.token_source, rec.input_tokens, rec.output_tokens) == ("usage", 3, 3)


def test_missing_tokenizer_file_stops_the_load_before_it_starts(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "1/s"}, "tokenizer": {"kind": "tiktoken", "encoding_file": "nope.tiktoken"}}
    with pytest.raises(LoadError, match=r"tokenizer file .*nope\.tiktoken: No such file"):
        start_load(make_plan(fake_server.url, load))

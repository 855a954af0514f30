"""Answers shared between users: one computation per (checkpoint, dataset, split, TTA), in memory
and on disk; any change of the checkpoint's or the dataset's bytes asks again; a corrupt file is
ignored."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import torch
from PIL import Image

from maskloc.classroom.shared_answers import AnswerCache
from maskloc.config.sections import ModelConfig, RunConfig
from maskloc.inference.evaluate import evaluate
from maskloc.inference.predictor import Predictor
from maskloc.models.checkpoint import save_checkpoint
from maskloc.models.localization import LocalizationModel


def write_checkpoint(path, seed: int = 0):
    torch.manual_seed(seed)
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False))
    save_checkpoint(path, model, ["mask", "no-mask"], 32, run_config=RunConfig().to_dict())
    return path


@pytest.fixture
def checkpoint(tmp_path):
    return write_checkpoint(tmp_path / "model.pt")


class Loads:
    """A predictor factory that counts how often an answer had to be computed."""

    def __init__(self, checkpoint) -> None:
        self.checkpoint, self.count = checkpoint, 0
        self._lock = threading.Lock()

    def __call__(self) -> Predictor:
        with self._lock:
            self.count += 1
        return Predictor(self.checkpoint, device="cpu")


def test_second_request_is_served_from_memory_with_the_same_answer(
    tmp_path, checkpoint, tiny_dataset
):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    first = cache.evaluate(checkpoint, tiny_dataset, "val", False, load)
    first[1].loc[0, "iou"] = -1.0  # what a caller does with its copy never reaches the cache
    second = cache.evaluate(checkpoint, tiny_dataset, "val", False, load)
    assert load.count == 1
    assert (cache.stats.computed, cache.stats.memory_hits) == (1, 1)
    direct = evaluate(Predictor(checkpoint, device="cpu"), tiny_dataset, "val")
    assert second[0] == direct[0]
    pd.testing.assert_frame_equal(second[1], direct[1])
    cache.evaluate(checkpoint, tiny_dataset, "val", True, load)  # TTA is another answer
    cache.evaluate(checkpoint, tiny_dataset, "test", False, load)  # and so is another split
    assert load.count == 3


def test_a_new_process_reads_the_answer_from_disk(tmp_path, checkpoint, tiny_dataset):
    first = AnswerCache(tmp_path / "answers").evaluate(
        checkpoint, tiny_dataset, "test", False, Loads(checkpoint)
    )
    later, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    metrics, frame = later.evaluate(checkpoint, tiny_dataset, "test", False, load)
    assert load.count == 0 and later.stats.disk_hits == 1
    assert metrics == first[0]
    pd.testing.assert_frame_equal(frame, first[1])
    assert frame["correct"].dtype == bool and frame["xmin"].dtype.kind == "i"


def test_changed_dataset_bytes_are_scored_again(tmp_path, checkpoint, tiny_dataset):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    cache.evaluate(checkpoint, tiny_dataset, "all", False, load)
    image = next((tiny_dataset / "images").glob("*.png"))
    Image.new("RGB", Image.open(image).size, (255, 255, 255)).save(image)  # same name, new bytes
    cache.evaluate(checkpoint, tiny_dataset, "all", False, load)
    assert load.count == 2


def test_a_retrained_checkpoint_is_scored_again(tmp_path, checkpoint, tiny_dataset):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    before = cache.evaluate(checkpoint, tiny_dataset, "all", False, load)
    write_checkpoint(checkpoint, seed=1)  # same path, other weights
    after = cache.evaluate(checkpoint, tiny_dataset, "all", False, load)
    assert load.count == 2
    assert not before[1]["iou"].equals(after[1]["iou"])


def test_a_copy_of_the_checkpoint_shares_its_answers(tmp_path, checkpoint, tiny_dataset):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    cache.evaluate(checkpoint, tiny_dataset, "all", False, load)
    copy = tmp_path / "elsewhere" / "same.pt"
    copy.parent.mkdir()
    copy.write_bytes(checkpoint.read_bytes())
    cache.evaluate(copy, tiny_dataset, "all", False, load)
    assert load.count == 1


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": "maskloc-answer/1"}'])
def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path, checkpoint, tiny_dataset, damage):
    folder = tmp_path / "answers"
    good = AnswerCache(folder).evaluate(checkpoint, tiny_dataset, "val", False, Loads(checkpoint))
    (entry,) = folder.glob("evaluate-*.json")
    entry.write_bytes(damage)
    cache, load = AnswerCache(folder), Loads(checkpoint)
    metrics, frame = cache.evaluate(checkpoint, tiny_dataset, "val", False, load)
    assert load.count == 1 and cache.stats.ignored_files == 1
    assert metrics == good[0]
    pd.testing.assert_frame_equal(frame, good[1])
    assert AnswerCache(folder).evaluate(checkpoint, tiny_dataset, "val", False, load)[0] == good[0]
    assert load.count == 1  # the rewritten file is good again


def test_many_users_at_once_cost_one_evaluation(tmp_path, checkpoint, tiny_dataset):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    results = []

    def ask() -> None:
        results.append(cache.evaluate(checkpoint, tiny_dataset, "val", False, load)[0])

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert load.count == 1 and len(results) == 6
    assert all(result == results[0] for result in results)


def test_submissions_are_cached_too(tmp_path, checkpoint, tiny_dataset):
    cache, load = AnswerCache(tmp_path / "answers"), Loads(checkpoint)
    first = cache.submission(checkpoint, tiny_dataset, load)
    second = AnswerCache(tmp_path / "answers").submission(checkpoint, tiny_dataset, load)
    assert load.count == 1
    assert list(first.columns) == ["filename", "class", "xmin", "ymin", "xmax", "ymax"]
    assert len(first) == 6
    pd.testing.assert_frame_equal(first, second)


def test_old_entries_beyond_the_disk_limit_are_removed(tmp_path, checkpoint, tiny_dataset):
    cache = AnswerCache(tmp_path / "answers", disk_entries=2)
    load = Loads(checkpoint)
    for split in ("val", "test", "all"):
        cache.evaluate(checkpoint, tiny_dataset, split, False, load)
    assert len(list((tmp_path / "answers").glob("*.json"))) == 2

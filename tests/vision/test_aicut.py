"""AI Cut's prior pipeline: the robot user and metrics, the per-image cache, point handling, one real model."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.aicut import AICut, AICutTuning, Point, focus_box, mask_keep_connected, points_clip
from vision.aicut_cache import ByteLRU
from vision.aicut_robot import RobotRun, click_next, mask_iou, noc_mean, robot_run

REPO = Path(__file__).resolve().parents[2]


# ---- a scene and a fake model store -----------------------------------------------------------

def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 120x160 image: a red disk (the 'salient' object) and a blue square on grey noise; their masks."""
    rng = np.random.default_rng(0)
    image = (rng.normal(128, 2, (120, 160, 3))).clip(0, 255).astype(np.uint8)
    disk = np.zeros((120, 160), np.uint8)
    cv2.circle(disk, (45, 60), 25, 255, -1)
    square = np.zeros((120, 160), np.uint8)
    square[40:80, 105:145] = 255
    image[disk > 0] = (200, 40, 40)
    image[square > 0] = (40, 60, 200)
    return image, disk, square


class FakeStore:
    """Answers every pass with a fixed map (resized to the input); counts passes and remembers their shapes."""

    def __init__(self, probability: np.ndarray):
        self.probability = probability.astype(np.float32)
        self.shapes: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    @property
    def passes(self) -> int:
        return len(self.shapes)

    def predict(self, name: str, image: np.ndarray) -> np.ndarray:
        with self.lock:
            self.shapes.append(image.shape[:2])
        if image.shape[:2] == self.probability.shape:
            return self.probability.copy()
        return np.zeros(image.shape[:2], np.float32)  # focus views see nothing salient


def disk_prior() -> np.ndarray:
    _, disk, _ = scene()
    return disk.astype(np.float32) / 255


# ---- robot and metrics ----------------------------------------------------------------------

def test_iou_leaves_out_the_unknown_band():
    truth = np.zeros((10, 10), np.uint8)
    truth[2:8, 2:8] = 255
    truth[2:8, 7] = 128
    mask = np.zeros((10, 10), np.uint8)
    mask[2:8, 2:7] = 255
    mask[0, 9] = 255  # one false pixel outside the object
    assert mask_iou(mask=mask, truth=truth) == pytest.approx(30 / 31)
    mask[2:8, 7] = 255  # the ignored column may be anything
    assert mask_iou(mask=mask, truth=truth) == pytest.approx(30 / 31)
    mask[0, 0] = 255
    assert mask_iou(mask=mask, truth=truth) == pytest.approx(30 / 32)


def test_the_robots_first_click_is_the_foreground_pixel_farthest_from_the_border():
    truth = np.zeros((40, 60), np.uint8)
    truth[10:31, 5:26] = 255  # a 21x21 square centred on (15, 20)
    assert click_next(mask=None, truth=truth) == Point(15, 20, True)


def test_the_robot_clicks_the_worse_error_with_the_matching_label():
    truth = np.zeros((40, 60), np.uint8)
    truth[5:35, 5:25] = 255
    mask = truth.copy()
    mask[5:35, 5:12] = 0  # a thin strip missed
    mask[5:35, 35:58] = 255  # a wide block selected by mistake
    point = click_next(mask=mask, truth=truth)
    assert point is not None and not point.positive and 35 <= point.x < 58
    mask[5:35, 35:58] = 0
    point = click_next(mask=mask, truth=truth)
    assert point is not None and point.positive and 5 <= point.x < 12
    assert click_next(mask=truth, truth=truth) is None


def test_the_robot_counts_clicks_to_a_threshold_and_twenty_when_it_never_gets_there():
    assert RobotRun((0.5, 0.86, 0.91)).clicks_to(0.85) == 2
    assert RobotRun((0.5, 0.86, 0.91)).clicks_to(0.90) == 3
    assert RobotRun((0.5, 0.6)).clicks_to(0.90) == 20
    assert noc_mean(runs=[RobotRun((0.95,)), RobotRun((0.1,) * 20)], threshold=0.9) == pytest.approx(10.5)


def test_the_robot_sends_every_click_so_far_and_stops_once_it_is_good_enough():
    truth = np.zeros((40, 60), np.uint8)
    truth[10:30, 10:30] = 255
    truth[10:30, 40:50] = 255
    seen: list[list[Point]] = []

    def segment(points):
        seen.append(list(points))
        mask = np.zeros_like(truth)
        for p in points:
            if p.positive:
                mask[max(0, p.y - 12) : p.y + 12, max(0, p.x - 12) : p.x + 12] = 255
        return mask & truth

    run = robot_run(truth=truth, segment=segment)
    assert [len(points) for points in seen] == list(range(1, len(seen) + 1))
    assert all(seen[-1][: len(points)] == points for points in seen)
    assert run.ious[-1] >= 0.9 and len(run.ious) == 2


# ---- the cache ----------------------------------------------------------------------------------

def test_a_refinement_click_reuses_the_cached_prior():
    image, disk, _ = scene()
    store = FakeStore(disk_prior())
    cut = AICut(store=store, prior_model="isnet-medium", tuning=AICutTuning(focus=False))
    cut.segment(image=image, image_key="a", points=[Point(45, 60, True)])
    cut.segment(image=image, image_key="a", points=[Point(45, 60, True), Point(10, 10, False)])
    cut.segment(image=image, image_key="a", points=[Point(45, 60, True), Point(10, 10, False), Point(50, 70, True)])
    assert store.passes == 1
    cut.segment(image=image, image_key="b", points=[Point(45, 60, True)])
    assert store.passes == 2


def test_the_cache_stays_within_its_byte_budget_and_evicts_the_least_recently_used():
    cache = ByteLRU(max_bytes=3000)
    cache.put("a", np.zeros(1000, np.uint8))
    cache.put("b", np.zeros(1000, np.uint8))
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", np.zeros(1500, np.uint8))
    assert cache.bytes_used <= 3000
    assert "b" not in cache and "a" in cache and "c" in cache
    cache.put("huge", np.zeros(5000, np.uint8))
    assert "huge" not in cache and cache.bytes_used <= 3000


def test_a_tiny_cache_still_gives_the_same_answer_by_computing_again():
    image, disk, _ = scene()
    points = [Point(45, 60, True), Point(140, 110, False)]
    roomy = AICut(store=FakeStore(disk_prior()), tuning=AICutTuning(focus=False))
    store = FakeStore(disk_prior())
    tiny = AICut(store=store, cache_bytes=1024, tuning=AICutTuning(focus=False))
    expected = roomy.segment(image=image, image_key="a", points=points)
    assert np.array_equal(tiny.segment(image=image, image_key="a", points=points), expected)
    assert np.array_equal(tiny.segment(image=image, image_key="a", points=points), expected)
    assert store.passes == 2 and tiny.cache.bytes_used <= 1024


def test_parallel_first_clicks_on_one_image_run_the_model_once():
    image, disk, _ = scene()
    store = FakeStore(disk_prior())
    cut = AICut(store=store, tuning=AICutTuning(focus=False))
    results = []

    def click():
        results.append(cut.segment(image=image, image_key="same", points=[Point(45, 60, True)]))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.passes == 1
    assert all(np.array_equal(result, results[0]) for result in results)


# ---- points and the segmentation ----------------------------------------------------------------

def test_one_click_on_the_salient_object_selects_it_and_nothing_else():
    image, disk, square = scene()
    prior = disk_prior()
    prior[square > 0] = 1.0  # the prior also likes the square, which nobody clicked
    cut = AICut(store=FakeStore(prior))
    mask = cut.segment(image=image, image_key="a", points=[Point(45, 60, True)])
    assert mask.dtype == np.uint8 and mask.shape == disk.shape and set(np.unique(mask)) <= {0, 255}
    assert mask_iou(mask=mask, truth=disk) > 0.95


def test_clicks_win_over_a_prior_that_calls_the_object_background():
    image, disk, square = scene()
    store = FakeStore(disk_prior())
    cut = AICut(store=store)
    mask = cut.segment(image=image, image_key="a", points=[Point(125, 60, True)])
    assert mask_iou(mask=mask, truth=square) > 0.85
    assert store.passes == 2 and store.shapes[1] != disk.shape  # the focus view ran on a crop


def test_a_negative_click_removes_the_region_around_it():
    image, disk, square = scene()
    prior = disk_prior()
    prior[square > 0] = 1.0
    cut = AICut(store=FakeStore(prior), tuning=AICutTuning(keep_connected=False))
    both = cut.segment(image=image, image_key="a", points=[Point(45, 60, True)])
    assert mask_iou(mask=both, truth=disk | square) > 0.95
    one = cut.segment(image=image, image_key="a", points=[Point(45, 60, True), Point(125, 60, False)])
    assert mask_iou(mask=one, truth=disk) > 0.95


def test_points_outside_the_image_are_clamped_and_no_points_select_nothing():
    assert points_clip(points=[Point(-5, 300, True), Point(10, 20, False)], width=100, height=50) == [
        Point(0, 49, True),
        Point(10, 20, False),
    ]
    image, _, _ = scene()
    store = FakeStore(disk_prior())
    mask = AICut(store=store).segment(image=image, image_key="a", points=[])
    assert not mask.any() and store.passes == 0


def test_every_click_keeps_its_own_label_under_it():
    image, disk, _ = scene()
    cut = AICut(store=FakeStore(disk_prior()))
    inside_negative = Point(45, 60, False)
    mask = cut.segment(image=image, image_key="a", points=[Point(40, 55, True), inside_negative])
    assert mask[60, 45] == 0 and mask[55, 40] == 255


def test_only_regions_holding_an_include_click_are_kept():
    mask = np.zeros((20, 40), bool)
    mask[2:8, 2:8] = True
    mask[10:18, 20:30] = True
    kept = mask_keep_connected(mask=mask, points=[Point(25, 12, True), Point(4, 4, False)])
    assert kept[12, 25] and not kept[4, 4]
    assert mask_keep_connected(mask=mask, points=[Point(4, 4, False)]).sum() == mask.sum()


def test_a_focus_box_is_a_square_inside_the_image_shared_by_nearby_clicks():
    tuning = AICutTuning()
    box = focus_box(point=Point(5, 5, True), width=640, height=480, tuning=tuning)
    x0, y0, x1, y1 = box
    assert x0 == 0 and y0 == 0 and x1 - x0 == y1 - y0 and x1 <= 640 and y1 <= 480
    assert focus_box(point=Point(300, 194, True), width=640, height=480, tuning=tuning) == focus_box(
        point=Point(302, 198, True), width=640, height=480, tuning=tuning
    )


def test_a_photo_larger_than_the_work_size_is_answered_at_its_own_size():
    image, disk, _ = scene()
    big = cv2.resize(image, (2400, 1800), interpolation=cv2.INTER_NEAREST)
    big_disk = cv2.resize(disk, (2400, 1800), interpolation=cv2.INTER_NEAREST)
    store = FakeStore(cv2.resize(disk_prior(), (1024, 768), interpolation=cv2.INTER_LINEAR))
    cut = AICut(store=store)
    mask = cut.segment(image=big, image_key="big", points=[Point(675, 900, True), Point(2300, 100, False)])
    assert mask.shape == (1800, 2400) and store.shapes == [(768, 1024)]
    assert mask_iou(mask=mask, truth=big_disk) > 0.97
    assert mask[100, 2300] == 0


def test_without_a_prior_the_clicks_alone_find_a_uniform_object():
    image, _, square = scene()
    store = FakeStore(disk_prior())
    cut = AICut(store=store, prior_model=None)
    mask = cut.segment(image=image, image_key="a", points=[Point(125, 60, True), Point(20, 10, False)])
    assert mask_iou(mask=mask, truth=square) > 0.85 and store.passes == 0


# ---- one real model -------------------------------------------------------------------------------

@pytest.mark.model
def test_with_u2netp_one_click_selects_a_dataset_object_and_a_refinement_skips_the_model():
    model = REPO / "models" / "u2netp.onnx"
    dataset = REPO.parent / "shared" / "datasets" / "GrabCut"
    if not model.exists():
        pytest.skip("models/u2netp.onnx is absent: run `make models`")
    if not (dataset / "images" / "banana1.png").exists():
        pytest.skip("the GrabCut dataset is not beside the project")
    from PIL import Image

    from vision.models import ModelStore

    image = np.asarray(Image.open(dataset / "images" / "banana1.png").convert("RGB"))
    truth = np.asarray(Image.open(dataset / "masks" / "banana1.png").convert("L"))
    counting = FakeStore(np.zeros((1, 1), np.float32))
    real = ModelStore(REPO / "models", threads=2)

    class Counting:
        def predict(self, name, picture):
            counting.shapes.append(picture.shape[:2])
            return real.predict(name, picture)

    cut = AICut(store=Counting(), prior_model="u2netp")
    first = click_next(mask=None, truth=truth)
    mask = cut.segment(image=image, image_key="banana1", points=[first])
    assert mask_iou(mask=mask, truth=truth) > 0.8
    second = click_next(mask=mask, truth=truth)
    passes = counting.passes
    refined = cut.segment(image=image, image_key="banana1", points=[first, second])
    assert mask_iou(mask=refined, truth=truth) >= mask_iou(mask=mask, truth=truth) - 0.02
    assert counting.passes - passes <= 1  # at most a focus view, never the whole-image prior again


# ---- the benchmark's helpers ----------------------------------------------------------------------

def test_the_benchmark_replaces_only_its_own_section(tmp_path):
    from bench.aicut_noc import benchmarks_write

    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nremove-bg table\n\n<!-- aicut:start -->\nold\n<!-- aicut:end -->\n\ntail\n")
    benchmarks_write(path, "new table")
    text = path.read_text()
    assert "new table" in text and "old" not in text and "remove-bg table" in text and text.endswith("tail\n")
    fresh = tmp_path / "fresh.md"
    benchmarks_write(fresh, "first")
    assert "<!-- aicut:start -->\nfirst\n<!-- aicut:end -->" in fresh.read_text()


def scene_dataset(folder: Path) -> Path:
    """A two-photo dataset in the benchmarks' layout (images/NAME.png, masks/NAME.png) from `scene`."""
    from PIL import Image

    image, _, square = scene()
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for name in ("first", "second"):
        Image.fromarray(image).save(folder / "images" / f"{name}.png")
        Image.fromarray(square).save(folder / "masks" / f"{name}.png")
    return folder


def test_the_benchmark_writes_every_objects_iou_after_each_click(tmp_path):
    import json

    from bench.aicut_noc import main

    dataset = scene_dataset(tmp_path / "scenes")
    out = tmp_path / "runs.json"
    assert main(["--direct", "--methods", "grabcut", "--dataset", str(dataset), "--runs-json", str(out)]) == 0
    runs = json.loads(out.read_text())["scenes"]["grabcut"]
    assert set(runs) == {"first", "second"}
    for ious in runs.values():
        assert 1 <= len(ious) <= 20 and all(0.0 <= v <= 1.0 for v in ious)
        assert ious[-1] >= 0.9 or len(ious) == 20


def test_the_benchmark_counts_refinement_clicks_the_answer_did_not_follow(tmp_path):
    from types import SimpleNamespace

    from bench.aicut_noc import method_run, summary_row

    dataset = scene_dataset(tmp_path / "scenes")
    _, _, square = scene()
    columns = np.nonzero(square.any(axis=0))[0]
    middle = (columns[0] + columns[-1]) // 2
    stuck = square.copy()
    stuck[:, middle:] = 0  # the object's left half, whatever is clicked

    class Stuck:
        def segment(self, *, image, image_key, points):
            return SimpleNamespace(alpha=stuck)

    timings: dict = {}
    runs = method_run(method="default", items=[("first", dataset / "images" / "first.png",
                                                dataset / "masks" / "first.png")],
                      segmenter_for=lambda method: Stuck(), http=None, timings=timings)
    row = summary_row("stuck", runs, timings)
    # Every click after the first asks for the missing half and gets the same answer: none is followed.
    assert row["refine_clicks"] == 19 and row["not_followed"] == 19 and row["not_followed_objects"] == 1


def test_the_first_click_bench_can_click_anywhere_well_inside_the_object_not_only_at_its_deepest_pixel():
    from bench.aicut_first_click import INTERIOR, interior_clicks

    _, _, square = scene()
    depth = cv2.distanceTransform(np.pad((square > 0).astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    clicks = interior_clicks(square, count=5, seed=3)
    assert len(clicks) == 5 and len(set(clicks)) == 5 and all(c.positive for c in clicks)
    assert all(depth[c.y, c.x] >= INTERIOR * depth.max() for c in clicks)
    assert clicks == interior_clicks(square, count=5, seed=3) != interior_clicks(square, count=5, seed=4)


def test_plain_grabcut_from_clicks_finds_a_distinct_object():
    from bench.aicut_noc import grabcut_plain

    image, _, square = scene()
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    mask = grabcut_plain(image_bgr=bgr, points=[Point(125, 60, True)])
    assert mask_iou(mask=mask, truth=square) > 0.8


def test_the_cache_counts_hits_and_misses_once_per_lookup():
    cache = ByteLRU(max_bytes=10_000)
    cache.get_or_compute("a", lambda: np.zeros(10, np.uint8))  # a miss, then computed
    cache.get_or_compute("a", lambda: np.zeros(10, np.uint8))  # a hit
    cache.get("b")  # a miss
    assert (cache.hits, cache.misses) == (1, 2)

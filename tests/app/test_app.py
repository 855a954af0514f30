"""Every page through Streamlit's AppTest, on a tiny dataset, a tiny model and a temporary runs
folder (set through MASKLOC_DATA, MASKLOC_RUNS and MASKLOC_CHECKPOINT)."""

from __future__ import annotations

import io
import pickle

import pandas as pd
import pytest
from app_steps import (
    Env,
    clear_caches,
    fill_small_run,
    frame_with,
    jpeg,
    open_page,
    poll,
    run_states,
    texts,
)
from streamlit.testing.v1 import AppTest

from app_parts.site import PAGES
from maskloc.config.sections import RunConfig
from maskloc.inference.onnx_export import export_available

# --- Home ----------------------------------------------------------------------------------------


def test_home_names_dataset_model_hardware_and_links(env):
    at = open_page()
    markdown = "\n".join(texts(at.markdown))
    assert "**24** training images" in markdown and "**6** test images" in markdown
    assert "own_cnn" in markdown and "CPU" in markdown
    assert len(at.page_link) == len(PAGES) - 1  # every page but Home
    assert not at.warning


def test_pages_say_clearly_when_there_is_no_model(env, monkeypatch, tmp_path):
    monkeypatch.setenv("MASKLOC_CHECKPOINT", str(tmp_path / "missing.pt"))
    at = open_page()
    assert any("No trained model yet" in w for w in texts(at.warning))
    for page, key in (
        ("app_pages/predict.py", "predict_model"),
        ("app_pages/webcam.py", "webcam_model"),
    ):
        at.switch_page(page).run()
        assert not at.exception
        assert any("No trained model yet" in w for w in texts(at.warning))
        assert at.selectbox(key=key).options == ["Upload a checkpoint…"]
        assert not at.image


# --- Explore -------------------------------------------------------------------------------------


def test_explore_shows_table_charts_grid_and_filters(env):
    at = open_page("app_pages/explore.py")
    assert [m.value for m in at.metric][:4] == ["24", "6", "2", "0"]
    assert len(at.get("plotly_chart")) == 3
    assert len(at.image[0].captions) == 24
    at.multiselect(key="explore_classes").set_value(["no-mask"]).run()
    assert not at.exception
    captions = at.image[0].captions
    assert len(captions) == 8 and all(c.endswith("no-mask") for c in captions)
    assert any("passed the checks" in s for s in texts(at.success))


def test_explore_lists_refused_rows_with_reasons(env):
    with (env.data / "train.csv").open("a") as handle:
        handle.write("img_000.jpg,50,10,20,40,mask,x\n")  # duplicate name
        handle.write("missing.jpg,1,1,5,5,mask,y\n")
        handle.write("img_002.jpg,30,10,20,40,mask,z\n")  # duplicate again
    at = open_page("app_pages/explore.py")
    problems = frame_with(at, "reason")
    assert problems is not None and len(problems) == 3
    assert set(problems["field"]) == {"filename"}
    assert any("not found" in r for r in problems["reason"])
    assert any("3 rows cannot be used" in w for w in texts(at.warning))


def test_explore_refuses_a_bad_folder_without_traceback(env, tmp_path):
    at = open_page("app_pages/explore.py")
    at.text_input(key="data_root").set_value(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert any("dataset folder not found" in e for e in texts(at.error))
    at.button(key="data_bundled").click().run()
    assert not at.exception and not at.error


def test_explore_takes_an_uploaded_zip_and_refuses_a_bad_one(env):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in env.data.rglob("*"):
            if path.is_file():
                archive.write(path, f"class-data/{path.relative_to(env.data)}")
    at = open_page("app_pages/explore.py")
    at.file_uploader(key="data_zip").set_value(("class.zip", buffer.getvalue(), "application/zip"))
    at.run()
    assert not at.exception and not at.error
    assert at.text_input(key="data_root").value.endswith("class-data")
    assert str(env.runs / "uploads") in at.text_input(key="data_root").value
    at.file_uploader(key="data_zip").set_value(("evil.zip", b"not a zip", "application/zip"))
    at.run()
    assert not at.exception
    assert any("Cannot use this zip" in e and "not a zip file" in e for e in texts(at.error))


# --- Augment -------------------------------------------------------------------------------------


def test_augment_shows_versions_warns_on_rotation_and_exports(env):
    at = open_page("app_pages/augment.py")
    assert len(at.image) == 5  # the original and four versions
    at.multiselect(key="augment_transforms").set_value(["Rotate"])
    at.toggle(key="augment_force").set_value(True)
    at.number_input(key="augment_count").set_value(3).run()
    assert not at.exception
    assert len(at.image) == 4
    assert any("loose: the box is" in w for w in texts(at.warning))
    assert at.slider(key="aug_Rotate_limit").value == 30
    at.button(key="augment_reroll").click().run()
    assert at.number_input(key="augment_seed").value == 1
    at.button(key="export_build").click().run()
    assert not at.exception
    assert any("24 original and 24 augmented" in s for s in texts(at.success))
    assert len(at.get("download_button")) == 1


# --- Train ---------------------------------------------------------------------------------------


def test_train_form_starts_on_the_classroom_preset_and_presets_fill_it(env):
    at = open_page("app_pages/train.py")
    assert at.selectbox(key="train_preset").value == "classroom"
    assert at.checkbox(key="train_cache_stem").value is True
    assert at.number_input(key="train_frozen_blocks").value == 14
    assert at.select_slider(key="train_image_size").value == 128
    at.selectbox(key="train_preset").set_value("notebook").run()
    assert not at.exception
    assert at.selectbox(key="train_model").value == "own_cnn"
    assert at.checkbox(key="train_pretrained").value is False
    assert at.checkbox(key="train_cache_stem").value is False
    assert at.selectbox(key="train_box_head").value == "gap"


def test_train_runs_in_background_with_live_metrics_and_stop(env):
    at = open_page("app_pages/train.py")
    assert any("Nothing is training" in i for i in texts(at.info))
    fill_small_run(at, epochs=3)
    at.button(key="train_start").click().run()
    assert not at.exception
    poll(at, lambda a: run_states(a) == ["finished"])
    table = frame_with(at, "state")
    assert table["model"].tolist() == ["own_cnn"] and table["mean_iou"].notna().all()
    labels = [m.label for m in at.metric]
    assert "best mean IoU" in labels and "best balanced accuracy" in labels
    assert len(at.get("plotly_chart")) >= 3  # overlay + loss + scores of the picked run
    downloads = [b.key for b in at.get("download_button")]
    onnx = ["train_onnx_download"] if export_available() else []  # needs requirements-onnx
    assert downloads == ["train_download", *onnx]
    at.button(key="train_activate").click().run()
    assert not at.exception
    assert at.button(key="train_activate").disabled  # now the active model

    # a long run: live progress and loss shares appear, Stop ends it
    fill_small_run(at, epochs=500, batch_size=4)
    at.button(key="train_start").click().run()
    poll(at, lambda a: any(m.label.startswith("class part") for m in a.metric))
    assert any("box share" in m.label for m in at.metric)
    at.button(key="train_stop").click().run()
    assert not at.exception
    poll(at, lambda a: sorted(run_states(a)) == ["finished", "stopped"], timeout=60)
    # the folder says "stopped" a moment before the worker thread has let go of the job
    poll(at, lambda a: any("Nothing is training" in i for i in texts(a.info)), timeout=30)

    # the active model is what Predict offers first
    at.switch_page("app_pages/predict.py").run()
    assert not at.exception
    assert at.selectbox(key="predict_model").value.startswith("Active model")


def test_train_alpha_sweep_ends_with_the_alpha_chart(env):
    at = open_page("app_pages/train.py")
    assert at.multiselect(key="train_sweep_alphas").value == [0.0, 0.25, 0.5, 0.75, 1.0]
    fill_small_run(at, epochs=1)
    at.multiselect(key="train_sweep_alphas").set_value([0.0, 1.0])
    at.button(key="train_sweep").click().run()
    assert not at.exception and not at.error
    assert any("0 of 2 runs done" in m for m in texts(at.markdown))
    # the runs folder says "finished" a moment before the job lets go of its thread: wait for both
    poll(
        at,
        lambda a: (
            run_states(a) == ["finished", "finished"]
            and not any("runs done" in m for m in texts(a.markdown))
        ),
    )
    sweep = next(
        e.value for e in at.dataframe if list(e.value.columns)[:3] == ["alpha", "run", "state"]
    )
    assert sweep["alpha"].tolist() == [0.0, 1.0] and sweep["mean_iou"].notna().all()
    assert sweep["class_share"].tolist() == [1.0, 0.0]  # alpha 0: all class loss; 1: all box
    assert any("Both together are best at alpha" in m for m in texts(at.markdown))
    # the same pictures side by side, one column per alpha, each with its truth and verdicts
    columns = [m for m in texts(at.markdown) if m.startswith("**α = ")]
    assert columns == ["**α = 0**", "**α = 1**"]
    strips = [i for i in at.image if any("true" in c for c in i.captions)]
    assert len(strips) == 2 and len(strips[0].captions) == 6
    assert sorted(at.multiselect(key="train_compare").value) == sorted(sweep["run"])

    # present mode: no form and no tables, the sweep stays
    at.toggle(key="train_present").set_value(True).run()
    assert not at.exception
    assert not any(b.key == "train_start" for b in at.button)
    assert frame_with(at, "state") is None
    assert any("Both together are best at alpha" in m for m in texts(at.markdown))
    at.toggle(key="train_present").set_value(False).run()
    assert at.button(key="train_start") is not None


def test_an_exception_in_the_worker_shows_on_the_page(env, monkeypatch):
    import maskloc.training.run

    def broken_disk(*_, **__):
        raise OSError("disk on fire")

    # after every check passed
    monkeypatch.setattr(maskloc.training.run, "prepare_data", broken_disk)
    at = open_page("app_pages/train.py")
    fill_small_run(at, epochs=1)
    at.button(key="train_start").click().run()
    assert not at.exception
    poll(at, lambda a: run_states(a) == ["failed"])
    assert any("This run failed: OSError: disk on fire" in e for e in texts(at.error))


def test_train_refuses_pretrained_own_cnn(env):
    at = open_page("app_pages/train.py")
    at.selectbox(key="train_model").set_value("own_cnn").run()
    assert at.checkbox(key="train_pretrained").value is False  # the model's own default
    at.checkbox(key="train_pretrained").set_value(True)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert texts(at.error) == [
        "Not started: own_cnn has no ImageNet weights: untick 'ImageNet weights'."
    ]
    assert run_states(at) == []


def test_train_names_the_checkbox_when_imagenet_weights_are_missing(env, monkeypatch):
    import maskloc.training.preflight

    monkeypatch.setattr(maskloc.training.preflight, "pretrained_available", lambda name: False)
    at = open_page("app_pages/train.py")
    at.selectbox(key="train_model").set_value("resnet50").run()
    at.number_input(key="train_frozen_blocks").set_value(0)
    at.checkbox(key="train_cache_stem").set_value(False)
    assert at.checkbox(key="train_pretrained").value is True  # resnet50's own default
    at.button(key="train_start").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith("Not started: ImageNet weights for resnet50 (resnet50-0676ba61.pth)")
    assert "untick 'ImageNet weights' to train from random weights" in error
    assert run_states(at) == [] and not jobs_of(env)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train_epochs", 0, "Not started: 'Epochs' must be at least 1, got 0."),
        (
            "train_patience",
            None,
            "Not started: 'Patience' must be a number, got None.",
        ),
        (
            "train_frozen_blocks",
            14,
            "Not started: 'Frozen blocks' is 14, but own_cnn has 4",
        ),
    ],
)
def test_train_refuses_a_bad_number_next_to_start_and_queues_nothing(env, key, value, message):
    at = open_page("app_pages/train.py")
    assert not at.get("form")  # no form: Enter in a field never submits anything
    fill_small_run(at, epochs=1)
    at.number_input(key=key).set_value(value).run()  # like pressing Enter in the field
    assert not at.exception and not jobs_of(env)
    at.button(key="train_start").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith(message)
    assert run_states(at) == [] and not jobs_of(env) and not any(env.runs.glob("*/config.json"))


def test_train_refuses_a_missing_dataset_folder_and_a_typo_class(env, tmp_path):
    at = open_page("app_pages/train.py")
    fill_small_run(at, epochs=1)
    at.text_input(key="data_root").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="train_start").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert "dataset folder not found" in error and "sidebar" in error
    at.button(key="data_bundled").click().run()
    with (env.data / "train.csv").open("a") as handle:
        handle.write("img_024.jpg,5,5,20,20,maks,photo99\n")
    clear_caches()
    at.button(key="train_sweep").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith("Not started: class 'maks' has 1 row (train.csv row 26)")
    assert run_states(at) == [] and not jobs_of(env)


def test_train_toast_says_started_then_queued(env):
    at = open_page("app_pages/train.py")
    fill_small_run(at, epochs=200, batch_size=4)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert at.toast[0].value.endswith(" started")
    assert any(c.startswith("Classes found: mask 16 rows (") for c in texts(at.caption))
    at.button(key="train_start").click().run()
    assert "queued behind 1 run(s)" in at.toast[0].value
    table = frame_with(at, "state")
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()
    live = table[table["state"].isin(["running", "queued"])]
    assert "0" not in live["epochs"].tolist()


def jobs_of(env: Env) -> list:
    from app_parts.jobs import _registry

    return _registry(str(env.runs.resolve())).live_jobs()


# --- Predict -------------------------------------------------------------------------------------


def test_predict_scores_a_split_and_draws_the_grid(env):
    at = open_page("app_pages/predict.py")
    metrics = {m.label: m.value for m in at.metric}
    assert {"images", "mean IoU", "accuracy", "balanced accuracy"} <= set(metrics)
    n = int(metrics["images"])
    captions = at.image[0].captions
    assert len(captions) == min(n, 12)
    ious = [float(c.rsplit("IoU ", 1)[1]) for c in captions]
    assert ious == sorted(ious), "worst IoU first"
    per_image = frame_with(at, "iou")
    assert len(per_image) == n
    at.checkbox(key="predict_wrong_only").check().run()
    assert not at.exception
    at.radio(key="predict_saliency").set_value("class").run()  # maps over the wrong ones
    assert not at.exception
    wrong = int((~per_image["correct"]).sum())
    assert (len(at.image[0].captions) if at.image else 0) == min(wrong, 12)
    at.radio(key="predict_split").set_value("test").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["images"] == "6"


def test_predict_draws_each_splits_own_ground_truth(env, monkeypatch):
    """A file listed in train.csv and (with another box) in test_labels.csv: the test split's
    green box is test_labels.csv's, not the first row found under that file name."""
    from maskloc.viz import drawing

    train = pd.read_csv(env.data / "train.csv")
    shared = train.iloc[0]
    test_box = [1.0, 2.0, 30.0, 40.0]
    assert test_box != shared[["xmin", "ymin", "xmax", "ymax"]].tolist()
    labels = pd.read_csv(env.data / "test_labels.csv")
    labels.loc[0, ["filename", "xmin", "ymin", "xmax", "ymax"]] = [shared["filename"], *test_box]
    labels.to_csv(env.data / "test_labels.csv", index=False)
    labels[["filename"]].to_csv(env.data / "test.csv", index=False)
    drawn_truths = []
    original = drawing.truth_box

    def recording_truth_box(box, class_name=""):
        drawn_truths.append([float(v) for v in box])
        return original(box, class_name)

    monkeypatch.setattr(drawing, "truth_box", recording_truth_box)
    at = open_page("app_pages/predict.py")
    drawn_truths.clear()
    at.radio(key="predict_split").set_value("test").run()
    assert not at.exception
    expected = labels[["xmin", "ymin", "xmax", "ymax"]].astype(float).values.tolist()
    assert sorted(drawn_truths) == sorted(expected)


def test_predict_pages_through_the_grid_worst_first(env):
    at = open_page("app_pages/predict.py")
    at.radio(key="predict_split").set_value("all").run()
    first = at.image[0].captions
    at.number_input(key="predict_page").set_value(2).run()
    assert not at.exception
    second = at.image[0].captions
    assert at.number_input(key="predict_page").label == "Page (of 2)"
    assert (len(first), len(second)) == (12, 12)  # 24 labelled rows, 12 a page

    def iou(caption: str) -> float:
        return float(caption.rsplit("IoU ", 1)[1])

    assert max(map(iou, first)) <= min(map(iou, second))


def bars(at: AppTest) -> list[tuple[str, int]]:
    """(text, percent) of every progress bar on the page."""
    return [(e.proto.text, e.proto.value) for e in at.get("progress")]


def test_predict_writes_a_submission(env):
    at = open_page("app_pages/predict.py")
    at.session_state["predict_tab"] = "Submission"  # tabs render only when open
    at.run()
    at.button(key="predict_submit").click().run()
    assert not at.exception
    columns = ["filename", "class", "xmin", "ymin", "xmax", "ymax"]
    submission = [e.value for e in at.dataframe if list(e.value.columns) == columns]
    assert len(submission) == 1 and len(submission[0]) == 6
    assert set(submission[0]["class"]) <= {"mask", "no-mask"}
    assert any(b.label.startswith("Download submission.csv") for b in at.get("download_button"))


def test_predict_one_uploaded_image_and_refuses_garbage(env):
    at = open_page("app_pages/predict.py")
    at.session_state["predict_tab"] = "One image"
    at.run()
    at.file_uploader(key="predict_upload").set_value(("face.jpg", jpeg(), "image/jpeg")).run()
    assert not at.exception
    assert any(m.startswith("### ") and "%" in m for m in texts(at.markdown))
    shown = bars(at)  # one bar per class, most likely first, adding up to 100 %
    assert [text.split(":")[0] for text, _ in shown] in (["mask", "no-mask"], ["no-mask", "mask"])
    assert shown[0][1] >= shown[1][1] and sum(v for _, v in shown) == pytest.approx(100, abs=1)
    at.file_uploader(key="predict_upload").set_value(("bad.jpg", b"not a jpeg", "image/jpeg"))
    at.run()
    assert not at.exception
    assert any("not an image file" in e for e in texts(at.error))


@pytest.mark.parametrize(
    "content",
    [b"nope", b"a text file renamed .pt\n" * 30, b"", pickle.dumps({})],
    ids=["bytes", "text", "empty", "empty pickle"],
)
@pytest.mark.parametrize("page", ["predict", "webcam"])
def test_a_bad_uploaded_checkpoint_is_a_plain_message(env, monkeypatch, tmp_path, content, page):
    monkeypatch.setenv("MASKLOC_CHECKPOINT", str(tmp_path / "missing.pt"))
    at = open_page(f"app_pages/{page}.py")
    uploader = at.file_uploader(key=f"{page}_model_upload_file")
    uploader.set_value(("broken.pt", content, "application/octet-stream")).run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith("Cannot load this model: ") and ": not a" in error
    assert "Error:" not in error.split("(")[0] and "Traceback" not in error


def test_predict_with_an_uploaded_checkpoint(env, monkeypatch, tmp_path):
    monkeypatch.setenv("MASKLOC_CHECKPOINT", str(tmp_path / "missing.pt"))
    at = open_page("app_pages/predict.py")
    uploader = at.file_uploader(key="predict_model_upload_file")
    uploader.set_value(("broken.pt", b"nope", "application/octet-stream")).run()
    assert not at.exception
    assert any("Cannot load this model" in e for e in texts(at.error))
    data = env.checkpoint.read_bytes()
    at.file_uploader(key="predict_model_upload_file").set_value(
        ("model.pt", data, "application/octet-stream")
    )
    at.run()
    assert not at.exception and not at.error
    assert "mean IoU" in [m.label for m in at.metric]


# --- Webcam --------------------------------------------------------------------------------------


def test_webcam_snapshot_gets_a_drawn_prediction(env):
    at = open_page("app_pages/webcam.py")
    assert any("Take a snapshot" in i for i in texts(at.info))
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert not at.exception
    assert len(at.image) == 1
    verdict = [m for m in texts(at.markdown) if m.startswith("## ")]
    assert verdict and ("mask" in verdict[0]) and "%" in verdict[0]
    name, percent = bars(at)[0][0].rstrip("%").split(": ")  # the most likely class's bar
    assert verdict[0].endswith(f"{name} · {float(percent):.0f}%")
    plain = at.image[0].proto.imgs[0].url
    at.radio(key="webcam_saliency").set_value("box").run()
    assert not at.exception and len(at.image) == 1
    assert "what it looked at for the box" in at.image[0].proto.imgs[0].caption
    assert at.image[0].proto.imgs[0].url != plain  # a different picture: the heat map over it
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", b"garbage", "image/jpeg"))
    at.run()
    assert not at.exception
    assert any("Cannot use this picture" in e for e in texts(at.error))


def test_webcam_answers_the_picture_given_last(env):
    at = open_page("app_pages/webcam.py")
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert at.image[0].captions == ["the snapshot, prediction in red"]
    at.file_uploader(key="webcam_upload").set_value(("face.jpg", jpeg(96, 80), "image/jpeg"))
    at.run()
    assert not at.exception
    assert at.image[0].captions == ["the uploaded photo, prediction in red"]
    at.camera_input(key="webcam_camera").set_value(("shot2.jpg", jpeg(120, 120), "image/jpeg"))
    at.run()
    assert at.image[0].captions == ["the snapshot, prediction in red"]


def test_train_lists_runs_from_disk_and_deletes_one(env, checkpoint):
    import shutil

    from maskloc.training.run_folder import RunFolder

    stale = RunFolder(env.runs / "20260101-000000-own_cnn-a0.50")
    stale.write_config(RunConfig())
    stale.write_status("running", "epoch 2")
    done = env.runs / "20260102-000000-own_cnn-a0.70"
    shutil.copytree(checkpoint.parent, done)
    at = open_page("app_pages/train.py")
    assert sorted(run_states(at)) == ["finished", "interrupted"]
    at.selectbox(key="train_run_pick").set_value(stale.name).run()
    assert any("no live job" in m for m in texts(at.markdown))
    at.button(key="train_delete").click().run()
    assert not at.exception
    assert run_states(at) == ["finished"] and not stale.path.exists()


def test_augment_shows_why_rotation_is_dropped_in_one_click(env):
    at = open_page("app_pages/augment.py")
    at.button(key="augment_show_rotation").click().run()
    assert not at.exception
    assert at.multiselect(key="augment_transforms").value == ["Rotate"]
    assert at.toggle(key="augment_force").value is True
    assert len(at.image) == 5  # the original and four rotated versions
    assert any("loose: the box is" in w for w in texts(at.warning))
    applied = frame_with(at, "version")
    assert applied is not None and sorted(set(applied["version"])) == [1, 2, 3, 4]
    assert set(applied["transform"]) == {"Rotate"}


def test_the_dataset_folder_field_keeps_its_value_across_page_switches(env):
    """Streamlit drops a widget's state on a page switch: the field must be seeded each time."""
    at = open_page("app_pages/explore.py")
    shown = []
    for page in ("app_pages/augment.py", "app_pages/predict.py", "app_pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception
        shown.append(at.sidebar.text_input(key="data_root").value)
    assert shown == [str(env.data)] * 3

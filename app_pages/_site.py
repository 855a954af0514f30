"""The app's pages, declared once: the router (app.py) and Home's links both read this list.

The page scripts live in `app_pages/`, not `pages/`: Streamlit auto-discovers a folder named
`pages/` and uses it for any first request that arrives before some session has run
`st.navigation`, so a deep link to a freshly started server would show a different app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    what: str


PAGES = (
    PageInfo(
        "app_pages/home.py", "Home", ":material/home:", "what the app does and what is active"
    ),
    PageInfo(
        "app_pages/explore.py",
        "Explore",
        ":material/table_view:",
        "the table, class counts, box statistics, an image grid, invalid rows",
    ),
    PageInfo(
        "app_pages/augment.py",
        "Augment",
        ":material/auto_fix_high:",
        "try albumentations transforms, see the boxes move (and loosen), export augmented copies",
    ),
    PageInfo(
        "app_pages/train.py",
        "Train",
        ":material/model_training:",
        "train in the background, live curves, compare runs, alpha sweeps",
    ),
    PageInfo(
        "app_pages/predict.py",
        "Predict",
        ":material/center_focus_strong:",
        "errors worst first, confusion matrix, submission.csv, one uploaded image",
    ),
    PageInfo(
        "app_pages/collect.py",
        "Collect",
        ":material/add_a_photo:",
        "your own pictures: snapshot, fix the box, add to a dataset, fine-tune",
    ),
    PageInfo(
        "app_pages/webcam.py",
        "Webcam",
        ":material/photo_camera:",
        "a snapshot: face box, class and confidence",
    ),
)

"""The app's pages, declared once: the router (app.py) and Home's links both read this list.

The page scripts live in `app_pages/`, not `pages/`: Streamlit auto-discovers a folder named
`pages/` and uses it for any first request that arrives before some session has run
`st.navigation`, so a deep link to a freshly started server would show a different app.
"""

from __future__ import annotations

from dataclasses import dataclass

from app_parts.i18n import N_


@dataclass(frozen=True)
class PageInfo:
    """A page script; title and description are catalogue messages, translated when shown."""

    path: str
    title: str
    icon: str
    what: str


PAGES = (
    PageInfo(
        "app_pages/home.py",
        N_("Home"),
        ":material/home:",
        N_("what the app does and what is active"),
    ),
    PageInfo(
        "app_pages/explore.py",
        N_("Explore"),
        ":material/table_view:",
        N_("the table, class counts, box statistics, an image grid, invalid rows"),
    ),
    PageInfo(
        "app_pages/augment.py",
        N_("Augment"),
        ":material/auto_fix_high:",
        N_("try transforms, see the boxes move (and loosen), export augmented copies"),
    ),
    PageInfo(
        "app_pages/train.py",
        N_("Train"),
        ":material/model_training:",
        N_("train in the background, live curves, compare runs, alpha sweeps"),
    ),
    PageInfo(
        "app_pages/predict.py",
        N_("Predict"),
        ":material/center_focus_strong:",
        N_("errors worst first, confusion matrix, submission.csv, one uploaded image"),
    ),
    PageInfo(
        "app_pages/collect.py",
        N_("Collect"),
        ":material/add_a_photo:",
        N_("your own pictures: snapshot, fix the box, add to a dataset, fine-tune"),
    ),
    PageInfo(
        "app_pages/webcam.py",
        N_("Webcam"),
        ":material/photo_camera:",
        N_("a snapshot: face box, class and confidence"),
    ),
)

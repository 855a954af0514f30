"""No-face windows a person looked at and found to show a face that nobody annotated.

The builder can only keep its no-face windows clear of *annotated* faces; Roboflow left some
faces unlabelled (a baby on a shoulder, heads in plane seats, a dark crowd). A window showing
one would teach the presence output that a face is "no face", and would count a correct "face"
answer as a miss on validation. Every window of the committed build was looked at (2026-11-28,
all 256 on contact sheets); these are the ones that show a face, or part of one, or where one
cannot tell. The builder leaves them out.

Keyed by the cut itself (source photo, x, y, side in pixels of the upright photo), not by file
name or bytes: a build with another seed or JPEG library cuts other windows, and none of them is
dropped by mistake.
"""

from __future__ import annotations

WindowKey = tuple[str, int, int, int]

SHOWS_A_FACE: dict[WindowKey, str] = {
    ("000_1ov3n5_0.jpg", 23, 221, 383): "a masked baby's face on a shoulder",
    ("000_1ov3n5_0.jpg", 96, 116, 308): "the same baby's face, cut by the edge",
    ("0_8w7mkX-PHcfMM5s6.jpg", 99, 9, 115): "a dark crowd, faces hard to tell",
    ("1140-travelers-at-hong-kong-airport.jpg", 767, 235, 95): "blurred travellers, one face",
    ("TASS38012699.jpg", 325, 315, 126): "heads in plane seats, one masked face",
}

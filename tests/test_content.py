from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediaopt.media import content


@pytest.mark.parametrize("kind", content.KINDS)
def test_synthetic_shape_count_and_determinism(kind: str) -> None:
    a = list(content.synthetic(kind, 96, 64, fps=10, seconds=0.5, seed=4))
    b = list(content.synthetic(kind, 96, 64, fps=10, seconds=0.5, seed=4))
    assert len(a) == content.count_frames(10, 0.5) == 5
    for x, y in zip(a, b, strict=True):
        assert x.shape == (64, 96, 3) and x.dtype == np.uint8
        assert np.array_equal(x, y)
    c = list(content.synthetic(kind, 96, 64, fps=10, seconds=0.5, seed=5))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("kind", content.KINDS)
def test_synthetic_is_not_blank(kind: str) -> None:
    frames = list(content.synthetic(kind, 128, 96, fps=15, seconds=0.4, seed=0))
    assert all(f.std() > 5 for f in frames)


def test_kinds_have_their_character() -> None:
    def motion(kind: str) -> float:
        f = list(content.synthetic(kind, 160, 120, fps=30, seconds=0.5, seed=0))
        return float(np.mean([np.abs(f[i + 1].astype(int) - f[i]).mean() for i in range(14)]))

    # a shared document (no scroll in the first half second) is still; an endoscope is not
    assert motion("document_share") == 0.0
    assert motion("endoscope") > motion("talking_head")
    us = next(content.synthetic("ultrasound", 160, 120, seed=0))
    assert np.array_equal(us[..., 0], us[..., 1]) and np.array_equal(us[..., 1], us[..., 2])


def test_document_scrolls_eventually() -> None:
    frames = content.synthetic("document_share", 64, 48, fps=5, seconds=30, seed=0)
    first = next(frames)
    assert any(not np.array_equal(first, f) for f in frames)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown content kind"):
        content.synthetic("cartoon", 64, 48)
    with pytest.raises(ValueError, match="width"):
        content.synthetic("talking_head", 4, 48)
    with pytest.raises(ValueError, match="fps"):
        content.synthetic("talking_head", 64, 48, fps=0)


def _write_clip(path: Path, n: int = 6) -> list[np.ndarray]:
    import av

    frames = list(content.synthetic("ultrasound", 64, 48, fps=10, seconds=n / 10, seed=1))
    with av.open(str(path), "w") as out:
        st = out.add_stream("mpeg4", rate=10)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for f in frames:
            for p in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return frames


def test_read_video_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    _write_clip(path, 6)
    frames = list(content.read(path))
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    assert len(list(content.read(path, max_frames=2))) == 2
    small = list(content.read(path, width=32, height=24))
    assert small[0].shape == (24, 32, 3)
    via = list(content.frames(str(path), width=32, height=24, seconds=10))
    assert len(via) == 6
    assert content.video_fps(path) == pytest.approx(10.0)


def test_read_rejects_non_video(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a video at all\n" * 20)
    with pytest.raises(ValueError, match=r"not a video file|no video stream"):
        content.read(junk)
    with pytest.raises(FileNotFoundError):
        content.read(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match="neither a content kind"):
        content.frames("cartoon", width=64, height=48)

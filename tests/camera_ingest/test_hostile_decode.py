"""Hostile image files: every still a camera sends (folder upload, HTTP snapshot) decodes to
HxWx3 uint8 RGB or raises `CorruptFrameError` naming the file; a decompression bomb is refused
undecoded; a folder camera with bad files among good ones still yields the good ones."""

from __future__ import annotations

import io
import os
import resource
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from camera_ingest import CorruptFrameError, SourceOptions, open_source
from camera_ingest.decode import MAX_IMAGE_PIXELS, decode_image
from camera_ingest.folder import exif_capture_time
from camera_ingest.testing import FakeClock

OLD = time.time() - 3600  # past the folder's upload settle time


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width: int, height: int, rows: int = 4) -> bytes:
    """A small greyscale PNG whose header declares width x height (only `rows` rows of data:
    the rest of a real bomb is zeros that compress 1000:1)."""
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(b"\x00" * (width + 1)) for _ in range(rows)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                 0, 0, 0))
            + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))


def pil_bytes(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def good_jpeg(value: int = 120) -> bytes:
    return pil_bytes(Image.fromarray(np.full((24, 32, 3), value, np.uint8)), "JPEG")


def _png16() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((6, 5, 3), 40000, np.uint16))
    assert ok
    return buf.tobytes()


VALID = {
    "1x1-png": (pil_bytes(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), (1, 1)),
    "16-bit-png": (_png16(), (6, 5)),
    "cmyk-jpeg": (pil_bytes(Image.new("CMYK", (8, 4), (10, 20, 30, 40)), "JPEG"), (4, 8)),
    "grey-jpeg": (pil_bytes(Image.new("L", (7, 3), 128), "JPEG"), (3, 7)),
    "grey-16-png": (pil_bytes(Image.new("I;16", (5, 5), 30000), "PNG"), (5, 5)),
    "rgba-png": (pil_bytes(Image.new("RGBA", (4, 6), (1, 2, 3, 0)), "PNG"), (6, 4)),
    "palette-png": (pil_bytes(Image.new("P", (3, 3), 5), "PNG"), (3, 3)),
    "bmp": (pil_bytes(Image.new("RGB", (2, 2), (5, 6, 7)), "BMP"), (2, 2)),
}


@pytest.mark.parametrize(("data", "shape"), list(VALID.values()), ids=list(VALID))
def test_decode_image_unusual_but_valid_file_gives_rgb_uint8(data: bytes,
                                                             shape: tuple[int, int]) -> None:
    rgb = decode_image(data, "cam/x")
    assert rgb.dtype == np.uint8 and rgb.shape == (*shape, 3)


def test_decode_image_1x1_keeps_its_colour() -> None:
    rgb = decode_image(VALID["1x1-png"][0], "one.png")
    assert tuple(rgb[0, 0]) == (9, 99, 199)


JPEG = good_jpeg()
INVALID = {
    "zero-bytes": b"",
    "jpeg-magic-only": b"\xff\xd8\xff",
    "truncated-jpeg": JPEG[: len(JPEG) // 2],
    "jpeg-header-only": JPEG[:200],
    "png-magic-only": b"\x89PNG\r\n\x1a\n",
    "text": b"<html>not an image</html>",
    "bomb-20000x20000": png_declaring(20000, 20000),
    "bomb-12000x9000": png_declaring(12000, 9000),  # under Pillow's bomb error, over our limit
    "bomb-1x200M": png_declaring(1, 200_000_000, rows=1),
}


@pytest.mark.parametrize("data", list(INVALID.values()), ids=list(INVALID))
def test_decode_image_broken_file_corrupt_frame_naming_it(data: bytes) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CorruptFrameError) as info:
        decode_image(data, "/inbox/IMG_0001.JPG")
    assert info.value.ref == "/inbox/IMG_0001.JPG" and "/inbox/IMG_0001.JPG" in str(info.value)
    # Refused from the header: decoding 20000x20000 would take 1.2 GB (2.3 GB peak) and seconds.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


def test_decode_image_bomb_message_gives_size_and_limit() -> None:
    with pytest.raises(CorruptFrameError, match=f"12000x9000 px, more than the limit of "
                                                f"{MAX_IMAGE_PIXELS} px; refused undecoded"):
        decode_image(INVALID["bomb-12000x9000"], "x.png")


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2048))
def test_decode_image_random_bytes_rgb_or_corrupt_frame(data: bytes) -> None:
    try:
        rgb = decode_image(data, "random.bin")
    except CorruptFrameError as exc:
        assert exc.ref == "random.bin"
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=len(JPEG)), st.binary(max_size=8))
def test_decode_image_cut_or_damaged_jpeg_rgb_or_corrupt_frame(cut: int, junk: bytes) -> None:
    data = JPEG[:cut] + junk + JPEG[cut + len(junk):]
    try:
        rgb = decode_image(data, "damaged.jpg")
    except CorruptFrameError as exc:
        assert exc.ref == "damaged.jpg"
    else:
        assert rgb.dtype == np.uint8 and rgb.shape[2] == 3


@pytest.mark.parametrize("data", [INVALID["bomb-20000x20000"], INVALID["bomb-12000x9000"],
                                  INVALID["truncated-jpeg"], b"\xff\xd8\xff\xe1\x00\x10Exif"],
                         ids=["bomb", "bomb-under-pil-error", "truncated", "bad-exif"])
def test_exif_capture_time_hostile_file_is_none(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    assert exif_capture_time(path) is None


def _drain(folder: Path) -> tuple[list[np.ndarray], list[str], list[CorruptFrameError]]:
    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep))
    src.open()
    images, refs, errors = [], [], []
    for _ in range(40):
        try:
            raw = src.read()
        except CorruptFrameError as exc:
            errors.append(exc)
            continue
        if raw is None:
            break
        images.append(raw.image)
        refs.append(Path(raw.source_ref).name)
        src.ack(raw.source_ref)  # type: ignore[attr-defined]
    src.close()
    return images, refs, errors


def _write(folder: Path, name: str, data: bytes, minute: int) -> None:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (OLD + 60 * minute, OLD + 60 * minute))


def test_folder_camera_bad_files_among_good_ones_yields_the_good_ones(tmp_path: Path) -> None:
    names = {**{f"bad-{k}.png": v for k, v in INVALID.items()},
             **{f"odd-{k}.png": v[0] for k, v in VALID.items()}}
    for minute, (name, data) in enumerate(names.items()):
        _write(tmp_path, name, data, 2 * minute)
        _write(tmp_path, f"good-{minute:02d}.jpg", good_jpeg(10 + minute), 2 * minute + 1)
    images, refs, errors = _drain(tmp_path)
    good = [n for n in refs if n.startswith("good-")]
    assert good == sorted(good) and len(good) == len(names)
    assert sorted(n for n in refs if not n.startswith("good-")) == sorted(
        f"odd-{k}.png" for k in VALID)
    assert all(img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 for img in images)
    assert sorted(Path(e.ref).name for e in errors) == sorted(f"bad-{k}.png" for k in INVALID)
    assert all(str(tmp_path) in str(e) for e in errors)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_folder_camera_random_file_never_stops_the_good_ones(tmp_path: Path,
                                                             junk: bytes) -> None:
    folder = tmp_path / f"f{time.monotonic_ns()}"
    folder.mkdir()
    _write(folder, "a.jpg", good_jpeg(50), 0)
    _write(folder, "b.jpg", junk, 1)
    _write(folder, "c.jpg", good_jpeg(90), 2)
    _, refs, errors = _drain(folder)
    assert [n for n in refs if n != "b.jpg"] == ["a.jpg", "c.jpg"]
    assert len(refs) + len(errors) == 3
    assert all(e.ref == str(folder / "b.jpg") for e in errors)
